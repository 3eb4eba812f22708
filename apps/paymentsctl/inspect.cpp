#include "apps/paymentsctl/inspect.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <sstream>

#include <rapidjson/document.h>

#include "net/http_client.hpp"

namespace pay::ctl {

const std::string_view inspect_usage = R"(
Inspecting the live engine (over its admin API; PAYMENTS_ENGINE_URL, default
http://127.0.0.1:8080, and the admin token from env PAYMENTS_ADMIN_TOKEN):
  actors [--kind K] [--limit N] Live actors with state, mailbox depth, last
                                message and restarts; counts per kind.
  intent ID                     One intent: state, version, live actor, audit
                                timeline and ledger postings.
  gateways                      PSP gateways: breaker, failures, in-flight
                                calls, recent latency (p50/p99).
  webhooks                      The webhook queue: pending, oldest, dead letters.
  dead-letters [--all]          Dead letters (--all: resolved ones too).
  dead-letters --replay ID      Makes one dead letter due again.
  dead-letters --replay-all     Makes every open dead letter due again.
  trial-balance                 Debits and credits per currency; exits 3 when
                                the ledger does not balance.
  Add --json to any of them for the engine's JSON instead of a table.
)";

namespace {

using rapidjson::Value;

/// The options an inspection command accepts.
struct inspect_options {
  bool json = false;
  bool all = false;
  bool replay_all = false;
  std::optional<std::string> replay;
  std::optional<std::string> kind;
  std::optional<std::string> limit;
};

int usage_error(const std::string& message) {
  std::cerr << "paymentsctl: " << message << " (see paymentsctl --help)\n";
  return 2;
}

std::optional<inspect_options> parse(const std::vector<std::string>& args, std::string& error) {
  inspect_options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&](std::optional<std::string>& out) {
      if (i + 1 >= args.size() || args[i + 1].starts_with("--")) {
        error = a + " needs a value";
        return false;
      }
      out = args[++i];
      return true;
    };
    if (a == "--json")
      o.json = true;
    else if (a == "--all")
      o.all = true;
    else if (a == "--replay-all")
      o.replay_all = true;
    else if (a == "--replay") {
      if (!value(o.replay)) return std::nullopt;
    } else if (a == "--kind") {
      if (!value(o.kind)) return std::nullopt;
    } else if (a == "--limit") {
      if (!value(o.limit)) return std::nullopt;
    } else if (a == "--admin-token" || a.starts_with("--admin-token=")) {
      error = "the admin token is read from env PAYMENTS_ADMIN_TOKEN only, never from a flag";
      return std::nullopt;
    } else {
      error = "unknown option " + a;
      return std::nullopt;
    }
  }
  return o;
}

std::string env(const char* name, std::string fallback = {}) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

/// Percent-encodes a path segment or query value.
std::string encode(std::string_view in) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : in) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

/// One call to the engine's admin API; the body on success, else a message.
struct answer {
  bool ok = false;
  std::string body;
  std::string error;
};

answer call(const std::string& method, const std::string& path) {
  answer out;
  auto token = env("PAYMENTS_ADMIN_TOKEN");
  if (token.empty()) {
    out.error = "set PAYMENTS_ADMIN_TOKEN to the engine's admin token";
    return out;
  }
  auto base = env("PAYMENTS_ENGINE_URL", "http://127.0.0.1:8080");
  while (base.ends_with('/')) base.pop_back();
  net::http_client client;
  net::client_request req;
  req.method = method;
  req.url = base + path;
  req.headers.emplace_back("Authorization", "Bearer " + token);
  req.timeout_ms = 20'000;
  auto res = client.send(std::move(req));
  if (!res.answered) {
    out.error = "cannot reach the engine at " + base + ": " + res.error;
    return out;
  }
  out.body = std::move(res.response.body);
  if (res.response.status >= 200 && res.response.status < 300) {
    out.ok = true;
    return out;
  }
  rapidjson::Document doc;
  doc.Parse(out.body.c_str());
  out.error = "the engine answered " + std::to_string(res.response.status);
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("error") && doc["error"].IsObject() &&
      doc["error"].HasMember("message") && doc["error"]["message"].IsString())
    out.error += ": " + std::string(doc["error"]["message"].GetString());
  return out;
}

/// A JSON value as a table cell.
std::string cell(const Value& v) {
  if (v.IsString()) return v.GetString();
  if (v.IsNull()) return "-";
  if (v.IsBool()) return v.GetBool() ? "yes" : "no";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  return "?";
}

std::string field(const Value& obj, const char* name) {
  if (!obj.IsObject() || !obj.HasMember(name)) return "-";
  return cell(obj[name]);
}

/// Prints rows under headers, columns padded to their widest cell.
class table {
 public:
  explicit table(std::vector<std::string> headers) : rows_{std::move(headers)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& os) const {
    std::vector<std::size_t> width(rows_.front().size(), 0);
    for (const auto& r : rows_)
      for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
        width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows_) {
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
      }
      os << line << "\n";
    }
    if (rows_.size() == 1) os << "(none)\n";
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

/// Unix milliseconds as "YYYY-MM-DD HH:MM:SS.mmm" UTC.
std::string utc_text(const Value& ms) {
  if (!ms.IsInt64()) return "-";
  auto v = ms.GetInt64();
  std::time_t s = static_cast<std::time_t>(v / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03d", buf, static_cast<int>(v % 1000));
  return out;
}

std::string age_text(const Value& ms) {
  if (!ms.IsInt64()) return "-";
  auto v = ms.GetInt64();
  if (v < 1000) return std::to_string(v) + "ms";
  return std::to_string(v / 1000) + "s";
}

// ---- the views ------------------------------------------------------------------

void print_actors(const Value& doc) {
  std::cout << "live actors: " << field(doc, "total");
  for (const auto& c : doc["counts"].GetObject())
    std::cout << "  " << c.name.GetString() << "=" << cell(c.value);
  std::cout << "\n\n";
  table t(
      {"KIND", "KEY", "STATE", "VERSION", "MAILBOX", "HANDLED", "LAST MESSAGE", "AGE", "RESTARTS"});
  for (const auto& a : doc["data"].GetArray())
    t.add({field(a, "kind"), field(a, "key"), field(a, "state"), field(a, "version"),
           field(a, "mailbox_depth"), field(a, "messages_handled"), field(a, "last_message"),
           age_text(a["last_message_age_ms"]), field(a, "restarts")});
  t.print(std::cout);
  if (doc["has_more"].IsTrue()) std::cout << "(more actors are alive than listed)\n";
}

void print_intent(const Value& doc) {
  const auto& pi = doc["intent"];
  std::cout << "intent    " << field(doc, "id") << "\n"
            << "merchant  " << field(doc, "merchant") << "\n"
            << "state     " << field(doc, "state") << "\n"
            << "version   " << field(doc, "version") << "\n"
            << "amount    " << field(pi, "amount") << " " << field(pi, "currency") << " (received "
            << field(pi, "amount_received") << ", refunded " << field(pi, "amount_refunded")
            << ")\n";
  const auto& actor = doc["actor"];
  if (actor.IsObject())
    std::cout << "actor     live, mailbox " << field(actor, "mailbox_depth") << ", handled "
              << field(actor, "messages_handled") << ", last " << field(actor, "last_message")
              << "\n";
  else
    std::cout << "actor     not live (state is in the database)\n";
  std::cout << "\naudit timeline\n";
  table timeline({"TIME (UTC)", "ACTOR", "ACTION", "FROM", "TO", "VERSION", "CAUSE"});
  for (const auto& e : doc["timeline"]["data"].GetArray())
    timeline.add({utc_text(e["created_ms"]), field(e, "actor"), field(e, "action"),
                  field(e, "from"), field(e, "to"), field(e, "version"), field(e, "cause")});
  timeline.print(std::cout);
  std::cout << "\nledger postings\n";
  table postings({"TRANSACTION", "KIND", "ACCOUNT", "DEBIT", "CREDIT", "CURRENCY"});
  for (const auto& t : doc["postings"]["data"].GetArray())
    for (const auto& e : t["entries"].GetArray())
      postings.add({field(t, "id"), field(t, "kind"), field(e, "account_key"), field(e, "debit"),
                    field(e, "credit"), field(e, "currency")});
  postings.print(std::cout);
}

void print_gateways(const Value& doc) {
  table t({"PSP", "BREAKER", "FAILURES", "TRIPS", "IN_FLIGHT", "P50_MS", "P99_MS", "SAMPLES",
           "RETRY_AFTER_MS"});
  for (const auto& g : doc["data"].GetArray())
    t.add({field(g, "psp"), field(g, "breaker_state"), field(g, "consecutive_failures"),
           field(g, "trips"), field(g, "in_flight"), field(g["latency"], "p50_ms"),
           field(g["latency"], "p99_ms"), field(g["latency"], "samples"),
           field(g, "retry_after_ms")});
  t.print(std::cout);
}

void print_webhooks(const Value& doc) {
  table t({"PENDING", "OLDEST_PENDING_AGE_MS", "DEAD_LETTERS_OPEN", "SIGNATURE_FAILURES",
           "INVALID_EVENTS"});
  t.add({field(doc, "pending"), field(doc, "oldest_pending_age_ms"),
         field(doc, "dead_letters_open"), field(doc, "signature_failures"),
         field(doc, "invalid_events")});
  t.print(std::cout);
}

void print_dead_letters(const Value& doc) {
  table t({"ID", "EVENT", "TYPE", "REASON", "ATTEMPTS", "REPLAYS", "RESOLVED"});
  for (const auto& d : doc["data"].GetArray())
    t.add({field(d, "id"), field(d, "event_id"), field(d, "event_type"), field(d, "reason"),
           std::to_string(d["attempts"].Size()), field(d, "replay_count"), field(d, "resolved")});
  t.print(std::cout);
}

void print_replayed(const Value& doc) {
  const auto& ids = doc["replayed"].GetArray();
  std::cout << "replayed " << ids.Size() << " dead letter(s)";
  for (const auto& id : ids) std::cout << " " << cell(id);
  std::cout << "\n";
}

bool print_trial_balance(const Value& doc) {
  table t({"CURRENCY", "DEBITS", "CREDITS", "MEMO_DEBITS", "MEMO_CREDITS", "BALANCED"});
  for (const auto& c : doc["currencies"].GetArray())
    t.add({field(c, "currency"), field(c, "debits"), field(c, "credits"), field(c, "memo_debits"),
           field(c, "memo_credits"), field(c, "balanced")});
  t.print(std::cout);
  bool balanced = doc["balanced"].IsTrue();
  std::cout << (balanced ? "the ledger balances\n" : "THE LEDGER DOES NOT BALANCE\n");
  return balanced;
}

/// True when the answer has the members the table printer reads.
bool shaped(const Value& doc, const std::string& command, const std::string& method) {
  auto has = [&](std::initializer_list<const char*> names) {
    for (const auto* n : names)
      if (!doc.HasMember(n)) return false;
    return true;
  };
  if (command == "actors") return has({"total", "counts", "data", "has_more"});
  if (command == "intent") return has({"intent", "actor", "timeline", "postings"});
  if (command == "gateways") return has({"data"});
  if (command == "webhooks") return has({"pending"});
  if (command == "dead-letters") return method == "POST" ? has({"replayed"}) : has({"data"});
  return has({"currencies", "balanced"});
}

}  // namespace

bool is_inspect_command(std::string_view command) {
  return command == "actors" || command == "intent" || command == "gateways" ||
         command == "webhooks" || command == "dead-letters" || command == "trial-balance";
}

int run_inspect(const std::vector<std::string>& words, const std::vector<std::string>& args) {
  std::string error;
  auto opts = parse(args, error);
  if (!opts) return usage_error(error);
  const auto& command = words.front();
  std::size_t positional = command == "intent" ? 2 : 1;
  if (words.size() != positional)
    return usage_error(command == "intent" ? "intent needs exactly one intent id"
                                           : "unexpected argument " + words.back());

  std::string method = "GET";
  std::string path;
  if (command == "actors") {
    std::string query;
    if (opts->kind) query += "&kind=" + encode(*opts->kind);
    if (opts->limit) query += "&limit=" + encode(*opts->limit);
    path = "/v1/admin/actors" + (query.empty() ? "" : "?" + query.substr(1));
  } else if (command == "intent") {
    path = "/v1/admin/intents/" + encode(words[1]);
  } else if (command == "gateways") {
    path = "/v1/admin/gateways";
  } else if (command == "webhooks") {
    path = "/v1/admin/webhooks";
  } else if (command == "dead-letters") {
    if (opts->replay && opts->replay_all)
      return usage_error("--replay and --replay-all exclude each other");
    if (opts->replay) {
      method = "POST";
      path = "/v1/admin/dead_letters/" + encode(*opts->replay) + "/replay";
    } else if (opts->replay_all) {
      method = "POST";
      path = "/v1/admin/dead_letters/replay";
    } else {
      path = std::string("/v1/admin/dead_letters?limit=100") +
             (opts->all ? "&include_resolved=true" : "");
    }
  } else {
    path = "/v1/ledger/trial_balance";
  }

  auto res = call(method, path);
  if (!res.ok) {
    std::cerr << "paymentsctl: " << res.error << "\n";
    return 1;
  }
  rapidjson::Document doc;
  doc.Parse(res.body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !shaped(doc, command, method)) {
    std::cerr << "paymentsctl: the engine's answer is not the expected JSON\n";
    return 1;
  }
  bool balanced = command != "trial-balance" || doc["balanced"].IsTrue();
  if (opts->json) {
    std::cout << res.body << "\n";
    return balanced ? 0 : 3;
  }
  if (command == "actors")
    print_actors(doc);
  else if (command == "intent")
    print_intent(doc);
  else if (command == "gateways")
    print_gateways(doc);
  else if (command == "webhooks")
    print_webhooks(doc);
  else if (command == "dead-letters" && method == "POST")
    print_replayed(doc);
  else if (command == "dead-letters")
    print_dead_letters(doc);
  else
    balanced = print_trial_balance(doc);
  return balanced ? 0 : 3;
}

}  // namespace pay::ctl
