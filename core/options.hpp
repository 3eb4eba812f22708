#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace pay::core {

/// One configuration option: a --flag, its environment variable, default and
/// help. A secret is never accepted as a flag value (it would show in `ps`
/// and shell history): only from its environment variable or, through
/// `--<name>-file`, from a file.
struct option_spec {
  std::string name;  ///< flag without dashes, e.g. "port"
  std::string env;   ///< environment variable, e.g. "PAYMENTS_PORT"; may be empty
  std::string default_value;
  std::string help;
  bool secret = false;
  bool is_switch = false;  ///< a boolean flag that takes no value
};

/// Parsed options: each name maps to its value (default, env, or flag, in
/// rising precedence).
class option_values {
 public:
  const std::string& get(std::string_view name) const;
  std::int64_t get_int(std::string_view name) const;
  bool get_bool(std::string_view name) const;
  bool help_requested() const { return help_; }

 private:
  friend result<option_values> parse_options(
      const std::vector<option_spec>&, const std::vector<std::string>&,
      const std::function<std::optional<std::string>(const std::string&)>&);
  std::map<std::string, std::string, std::less<>> values_;
  bool help_ = false;
};

/// Parses `args` (without argv[0]) against `specs`, reading environment
/// variables through `getenv` and `--x-file` paths from disk. Unknown flags,
/// missing values, secrets given on the command line and non-integer values
/// for integer defaults are errors.
result<option_values> parse_options(
    const std::vector<option_spec>& specs, const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const std::string&)>& getenv);

/// The --help text: usage line, then every option with env var and default
/// (secrets show "(secret: env or file only)" and never a value).
std::string render_help(std::string_view program, std::string_view summary,
                        const std::vector<option_spec>& specs);

/// Reads the process environment (std::getenv), for parse_options.
std::optional<std::string> process_env(const std::string& name);

}  // namespace pay::core
