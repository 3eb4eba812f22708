// paymentsctl: the operator's command line. Commands that change the
// database talk to PostgreSQL directly; inspection of the live engine goes
// through its HTTP admin API as those endpoints land.

#include <future>
#include <iostream>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include "apps/paymentsctl/inspect.hpp"

#include "core/intent_fsm.hpp"
#include "core/limits.hpp"
#include "core/options.hpp"
#include "core/reconciliation.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"
#include "storage/merchants.hpp"
#include "storage/migrations.hpp"
#include "storage/pg.hpp"

namespace {

using namespace pay;

constexpr std::string_view usage = R"(Usage: paymentsctl COMMAND [options]

Commands:
  migrate                       Apply pending database migrations.
  merchant ensure --name NAME [--default-psp PSP]
                                Create the merchant if absent and attach the
                                API key from PAYMENTS_API_KEY (or
                                --api-key-file PATH); prints the merchant id.
                                --default-psp sets the PSP its intents go to
                                unless a request names one ("-": the
                                engine's default); audited.
  transitions                   Print the payment intent state machine as a
                                Markdown table (the one docs/ embeds).
  reconcile --date YYYY-MM-DD [--psp sandbox] [--rerun]
                                Reconcile one UTC day with the PSP through
                                the running engine (POST
                                /v1/admin/reconciliation/runs at
                                PAYMENTS_ENGINE_URL with PAYMENTS_ADMIN_TOKEN);
                                prints the run as JSON. Exit status 0 with no
                                difference, 3 with differences, 1 on error.

Common options:
  --database-url-file PATH      PostgreSQL URL; default: env PAYMENTS_DATABASE_URL
  --help                        Print this help.
)";

std::vector<core::option_spec> option_specs() {
  return {
      {"database-url", "PAYMENTS_DATABASE_URL", "", "PostgreSQL connection URL.", true},
      {"name", "", "", "Merchant name."},
      {"api-key", "PAYMENTS_API_KEY", "", "Merchant secret key to attach.", true},
      {"engine-url", "PAYMENTS_ENGINE_URL", "http://127.0.0.1:8080", "The engine's base URL."},
      {"admin-token", "PAYMENTS_ADMIN_TOKEN", "", "The engine's admin token.", true},
      {"date", "", "", "A UTC day, YYYY-MM-DD."},
      {"psp", "", "sandbox", "The PSP account's name."},
      {"default-psp", "", "", "The merchant's default PSP (\"-\": the engine's)."},
      {"rerun", "", "false", "Run again even if the day was reconciled.", false, true},
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
  if (const auto& psp = opts.get("default-psp"); !psp.empty()) {
    auto value = psp == "-" ? std::optional<std::string>{} : std::optional<std::string>{psp};
    if (auto set = storage::set_default_psp(*conn, *id, value, "paymentsctl"); !set)
      return fail(set.err().message);
  }
  std::cout << *id << "\n";
  return 0;
}

/// Asks the running engine to reconcile one day (the engine holds the PSP
/// connector and the books; this command holds neither secret but the
/// admin token).
int reconcile(const core::option_values& opts) {
  const auto& date = opts.get("date");
  if (!core::utc_day_window(date)) return fail("reconcile needs --date YYYY-MM-DD");
  if (opts.get("admin-token").empty()) return fail("reconcile needs PAYMENTS_ADMIN_TOKEN");
  net::json_writer body;
  body.begin_object();
  body.field("date", date);
  body.field("psp", opts.get("psp"));
  body.field("rerun", opts.get_bool("rerun"));
  body.field("trigger", "cli");
  body.end_object();
  net::client_request req;
  req.method = "POST";
  auto base = opts.get("engine-url");
  while (!base.empty() && base.back() == '/') base.pop_back();
  req.url = base + "/v1/admin/reconciliation/runs";
  req.body = body.take();
  req.content_type = "application/json";
  req.headers.emplace_back("Authorization", "Bearer " + opts.get("admin-token"));
  req.timeout_ms = core::limits::http_request_deadline_ms;
  net::http_client client;
  std::promise<net::client_result> answer;
  auto future = answer.get_future();
  client.async_send(std::move(req),
                    [&answer](net::client_result r) { answer.set_value(std::move(r)); });
  auto r = future.get();
  if (!r.answered) return fail("the engine did not answer: " + r.error);
  if (r.response.status != 200)
    return fail("the engine answered " + std::to_string(r.response.status) + ": " +
                r.response.body);
  std::cout << r.response.body << "\n";
  rapidjson::Document doc;
  doc.Parse(r.response.body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("differences_count"))
    return fail("the engine's answer is not a reconciliation run");
  return doc["differences_count"].GetInt64() == 0 ? 0 : 3;
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
  if (command == std::vector<std::string>{"reconcile"}) return reconcile(*opts);
  if (command == std::vector<std::string>{"transitions"}) {
    std::cout << core::render_transition_table_markdown();
    return 0;
  }
  return fail("unknown command; see paymentsctl --help");
}
