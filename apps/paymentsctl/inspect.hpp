#pragma once

// paymentsctl's views of the live engine (actors, one intent, gateways,
// webhooks, dead letters, trial balance), read over the engine's admin HTTP
// API: PAYMENTS_ENGINE_URL (default http://127.0.0.1:8080) and the admin token
// from PAYMENTS_ADMIN_TOKEN (the environment only, never a flag, so it stays
// out of shell history and process lists).

#include <string>
#include <string_view>
#include <vector>

namespace pay::ctl {

/// True when `command` is one of the inspection commands.
bool is_inspect_command(std::string_view command);

/// Runs an inspection command: `words` are the command and its positional
/// arguments, `args` the --options. Returns the exit status (0 ok, 1 the
/// engine or the network failed, 2 bad usage).
int run_inspect(const std::vector<std::string>& words, const std::vector<std::string>& args);

/// The help text of the inspection commands.
extern const std::string_view inspect_usage;

}  // namespace pay::ctl
