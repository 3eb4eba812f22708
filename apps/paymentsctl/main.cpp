// paymentsctl: the operator's command line. Commands that change the
// database talk to PostgreSQL directly; inspection of the live engine goes
// through its HTTP admin API as those endpoints land.

#include <iostream>
#include <string>
#include <vector>

#include "apps/paymentsctl/inspect.hpp"
#include "core/intent_fsm.hpp"
#include "core/options.hpp"
#include "storage/merchants.hpp"
#include "storage/migrations.hpp"
#include "storage/pg.hpp"

namespace {

using namespace pay;

constexpr std::string_view usage = R"(Usage: paymentsctl COMMAND [options]

Commands:
  migrate                       Apply pending database migrations.
  merchant ensure --name NAME   Create the merchant if absent and attach the
                                API key from PAYMENTS_API_KEY (or
                                --api-key-file PATH); prints the merchant id.
  transitions                   Print the payment intent state machine as a
                                Markdown table (the one docs/ embeds).

Common options:
  --database-url-file PATH      PostgreSQL URL; default: env PAYMENTS_DATABASE_URL
  --help                        Print this help.
)";

std::vector<core::option_spec> option_specs() {
  return {
      {"database-url", "PAYMENTS_DATABASE_URL", "", "PostgreSQL connection URL.", true},
      {"name", "", "", "Merchant name."},
      {"api-key", "PAYMENTS_API_KEY", "", "Merchant secret key to attach.", true},
  };
}

int fail(const std::string& message) {
  std::cerr << "paymentsctl: " << message << "\n";
  return 1;
}

core::result<storage::pg_connection> connect(const core::option_values& opts) {
  const auto& url = opts.get("database-url");
  if (url.empty())
    return core::make_error(core::errc::invalid_request,
                            "no database: set PAYMENTS_DATABASE_URL or --database-url-file");
  return storage::pg_connection::connect(url);
}

int migrate(const core::option_values& opts) {
  auto conn = connect(opts);
  if (!conn) return fail(conn.err().message);
  auto report = storage::apply_migrations(*conn, storage::embedded_migrations());
  if (!report) return fail(report.err().message);
  std::cout << "schema version " << report->schema_version
            << ", applied now: " << report->applied.size() << "\n";
  return 0;
}

int merchant_ensure(const core::option_values& opts) {
  const auto& name = opts.get("name");
  const auto& key = opts.get("api-key");
  if (name.empty()) return fail("merchant ensure needs --name");
  if (!key.starts_with("sk_") || key.size() < 24)
    return fail("merchant ensure needs a secret key (sk_..., 24+ characters) in PAYMENTS_API_KEY");
  auto conn = connect(opts);
  if (!conn) return fail(conn.err().message);
  auto id = storage::ensure_merchant(*conn, name);
  if (!id) return fail(id.err().message);
  if (auto added = storage::add_api_key(*conn, *id, key); !added) return fail(added.err().message);
  std::cout << *id << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args{argv + 1, argv + argc};
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage << pay::ctl::inspect_usage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> command;
  while (!args.empty() && !args.front().starts_with("--")) {
    command.push_back(args.front());
    args.erase(args.begin());
  }
  if (!command.empty() && pay::ctl::is_inspect_command(command.front()))
    return pay::ctl::run_inspect(command, args);
  auto opts = core::parse_options(option_specs(), args, core::process_env);
  if (!opts) return fail(opts.err().message);
  if (opts->help_requested()) {
    std::cout << usage << pay::ctl::inspect_usage;
    return 0;
  }
  if (command == std::vector<std::string>{"migrate"}) return migrate(*opts);
  if (command == std::vector<std::string>{"merchant", "ensure"}) return merchant_ensure(*opts);
  if (command == std::vector<std::string>{"transitions"}) {
    std::cout << core::render_transition_table_markdown();
    return 0;
  }
  return fail("unknown command; see paymentsctl --help");
}
