// loadgen: a closed-loop HTTP load generator for the engine's benchmarks.
//
// N connections (keep-alive, Boost.Beast over Asio coroutines), each running
// its scenario in a loop until the duration or the request count runs out;
// a new request leaves only when the previous answer on that connection has
// arrived. Every finished operation's latency is kept, and percentiles are
// read from the sorted samples (exact, not estimated). The result is one
// JSON object on stdout; bench/run.sh collects those into the report.
//
// It only talks to 127.0.0.1: it is a benchmark, not a stress tool for
// somebody else's server.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <sys/resource.h>

#include <rapidjson/document.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/ids.hpp"
#include "net/form.hpp"
#include "net/http_client.hpp"
#include "psp/stripe/webhook_signature.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using asio::awaitable;

/// Bounds on what one run may ask for; a benchmark must end.
constexpr int concurrency_max = 1024;
constexpr double duration_s_max = 600;
constexpr std::uint64_t requests_max_cap = 10'000'000;
constexpr std::int64_t request_timeout_ms = 15'000;
/// A full flow polls the intent's audit events (a read that never asks the
/// PSP) until the webhook's effect shows: the first poll comes after
/// `flow_poll_first_ms`, the next ones double up to `flow_poll_ceiling_ms`,
/// and a flow whose webhook has not landed after `flow_poll_deadline_ms` is
/// an error.
constexpr int flow_poll_first_ms = 2;
constexpr int flow_poll_ceiling_ms = 50;
constexpr int flow_poll_deadline_ms = 10'000;
constexpr int replay_keys_max = 100'000;
constexpr std::size_t setup_connections_max = 8;
constexpr int setup_attempts_max = 6;
constexpr double rate_max = 1'000'000;

struct options {
  std::string scenario;
  std::string url;  ///< the engine
  std::string api_key;
  std::string sandbox_url;
  std::string publishable_key;
  std::string webhook_secret;
  std::string psp = "sandbox";
  int concurrency = 1;
  double duration_s = 10;
  double warmup_s = 1;
  std::uint64_t requests_max = 1'000'000;
  int replay_keys = 200;
  unsigned threads = 1;
  double rate = 0;  ///< operations per second to start (0: closed loop)
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "loadgen: " << why << R"(
Usage: loadgen --scenario create_intent|idempotent_replay|webhook_ingest|full_flow|sandbox_create
               --url http://127.0.0.1:PORT [--api-key sk_...] [--concurrency N]
               [--duration-s S] [--warmup-s S] [--requests-max N] [--threads N]
               [--replay-keys N] [--rate OPS_PER_S] [--sandbox-url URL --publishable-key pk_...]
               [--webhook-secret whsec_...] [--psp NAME]
--rate paces the run: operation i is due at i/rate seconds, on the first of
the --concurrency connections free, and its latency counts from when it was
due (a late start is the target's delay, not hidden). Without it, each
connection sends its next operation when the previous answer arrived.
sandbox_create sends the engine's PSP create straight to --url (the sandbox
PSP, with its secret key as --api-key): the PSP's own create rate.
Secrets may also come from LOADGEN_API_KEY, LOADGEN_PUBLISHABLE_KEY and
LOADGEN_WEBHOOK_SECRET. Prints one JSON object with the results.
)";
  std::exit(2);
}

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

options parse_args(int argc, char** argv) {
  options o;
  o.api_key = env_or("LOADGEN_API_KEY", "");
  o.publishable_key = env_or("LOADGEN_PUBLISHABLE_KEY", "");
  o.webhook_secret = env_or("LOADGEN_WEBHOOK_SECRET", "");
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value for " + flag);
    std::string v = argv[++i];
    try {
      if (flag == "--scenario")
        o.scenario = v;
      else if (flag == "--url")
        o.url = v;
      else if (flag == "--api-key")
        o.api_key = v;
      else if (flag == "--sandbox-url")
        o.sandbox_url = v;
      else if (flag == "--publishable-key")
        o.publishable_key = v;
      else if (flag == "--webhook-secret")
        o.webhook_secret = v;
      else if (flag == "--psp")
        o.psp = v;
      else if (flag == "--concurrency")
        o.concurrency = std::stoi(v);
      else if (flag == "--duration-s")
        o.duration_s = std::stod(v);
      else if (flag == "--warmup-s")
        o.warmup_s = std::stod(v);
      else if (flag == "--requests-max")
        o.requests_max = std::stoull(v);
      else if (flag == "--replay-keys")
        o.replay_keys = std::stoi(v);
      else if (flag == "--rate")
        o.rate = std::stod(v);
      else if (flag == "--threads")
        o.threads = static_cast<unsigned>(std::stoul(v));
      else
        usage("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage("bad value for " + flag + ": " + v);
    }
  }
  if (o.concurrency < 1 || o.concurrency > concurrency_max) usage("--concurrency out of 1..1024");
  if (!(o.duration_s > 0 && o.duration_s <= duration_s_max)) usage("--duration-s out of (0, 600]");
  if (!(o.warmup_s >= 0 && o.warmup_s < o.duration_s)) usage("--warmup-s out of [0, duration)");
  if (o.requests_max < 1 || o.requests_max > requests_max_cap) usage("--requests-max out of range");
  if (o.replay_keys < 1 || o.replay_keys > replay_keys_max) usage("--replay-keys out of range");
  if (o.threads < 1 || o.threads > 16) usage("--threads out of 1..16");
  if (!(o.rate >= 0 && o.rate <= rate_max)) usage("--rate out of [0, 1000000]");
  return o;
}

/// host and port of a URL that must point at this machine's loopback.
struct target {
  std::string host;
  std::string port;
  std::string base_path;  ///< without a trailing slash
};

target loopback_target(const std::string& url) {
  auto parts = pay::net::parse_url(url);
  if (!parts || parts->tls) usage("not a plain http:// URL: " + url);
  if (parts->host != "127.0.0.1") usage("only 127.0.0.1 may be targeted, not " + parts->host);
  auto path = parts->target == "/" ? std::string() : parts->target;
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {parts->host, parts->port, path};
}

/// One keep-alive connection; reconnects after a failure or a close.
class connection {
 public:
  connection(asio::any_io_executor ex, const target& t) : stream_(ex), target_(t) {}

  /// Sends `req` and reads the answer; nullopt and `error` set on a
  /// transport failure (the connection is dropped and made anew next time).
  awaitable<std::optional<http::response<http::string_body>>> exchange(
      http::request<http::string_body>& req, std::string& error) {
    beast::error_code ec;
    if (!open_) {
      tcp::resolver resolver(stream_.get_executor());
      auto results = co_await resolver.async_resolve(target_.host, target_.port,
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return fail(ec, "resolve", error);
      stream_.expires_after(std::chrono::milliseconds(request_timeout_ms));
      co_await stream_.async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return fail(ec, "connect", error);
      stream_.socket().set_option(tcp::no_delay(true));
      open_ = true;
    }
    req.set(http::field::host, target_.host + ":" + target_.port);
    req.keep_alive(true);
    req.prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(request_timeout_ms));
    co_await http::async_write(stream_, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(ec, "write", error);
    http::response_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    co_await http::async_read(stream_, buffer_, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(ec, "read", error);
    auto res = parser.release();
    if (!res.keep_alive()) close();
    co_return res;
  }

  const target& where() const { return target_; }

 private:
  std::nullopt_t fail(const beast::error_code& ec, const char* what, std::string& error) {
    error = std::string("transport_") + what + (ec == beast::error::timeout ? "_timeout" : "");
    close();
    return std::nullopt;
  }
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    open_ = false;
  }

  beast::tcp_stream stream_;
  target target_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

/// What one worker saw.
struct worker_stats {
  std::vector<double> latency_ms;  ///< successful operations in the window
  std::map<std::string, std::uint64_t> errors;
  std::uint64_t ok = 0;
  std::uint64_t requests = 0;
  /// Every operation that finished, warm-up included (what a database
  /// counter read around the whole run must be divided by).
  std::uint64_t ok_all = 0;
  std::uint64_t failed_all = 0;
};

/// Shared by every worker of a run.
struct run_state {
  options opts;
  target engine;
  std::optional<target> sandbox;
  std::string nonce;  ///< makes keys and event ids unique to this run
  clock_type::time_point start;
  clock_type::time_point measure_from;
  clock_type::time_point deadline;
  std::atomic<std::uint64_t> started{0};
  std::vector<std::string> replay_keys;
  std::string create_body = R"({"amount":1000,"currency":"usd","capture_method":"manual"})";

  /// Claims the next operation; false when time or count is used up.
  bool next(std::uint64_t& index) {
    if (clock_type::now() >= deadline) return false;
    index = started.fetch_add(1, std::memory_order_relaxed);
    return index < opts.requests_max;
  }

  /// When operation `index` is due in a paced run.
  clock_type::time_point due(std::uint64_t index) const {
    return start + std::chrono::duration_cast<clock_type::duration>(
                       std::chrono::duration<double>(static_cast<double>(index) / opts.rate));
  }
};

http::request<http::string_body> make_request(http::verb verb, const target& t,
                                              const std::string& path) {
  http::request<http::string_body> req{verb, t.base_path + path, 11};
  req.set(http::field::user_agent, "payments-loadgen");
  return req;
}

http::request<http::string_body> engine_post(const run_state& rs, const std::string& path,
                                             const std::string& json,
                                             const std::string& idempotency_key) {
  auto req = make_request(http::verb::post, rs.engine, path);
  req.set(http::field::authorization, "Bearer " + rs.opts.api_key);
  req.set(http::field::content_type, "application/json");
  if (!idempotency_key.empty()) req.set("Idempotency-Key", idempotency_key);
  req.body() = json;
  return req;
}

std::optional<std::string> json_string(const rapidjson::Document& doc, const char* field) {
  if (!doc.IsObject()) return std::nullopt;
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

/// One operation's outcome: empty error means success.
struct op_result {
  std::string error;
};

/// Sends one request and classifies the answer: an error key
/// "<step>:<status>" for an unexpected status, "<step>:transport_..." when no
/// answer came.
awaitable<std::optional<http::response<http::string_body>>> step(
    connection& conn, http::request<http::string_body> req, const char* name, unsigned expect,
    worker_stats& stats, op_result& out) {
  std::string error;
  ++stats.requests;
  auto res = co_await conn.exchange(req, error);
  if (!res) {
    out.error = std::string(name) + ":" + error;
    co_return std::nullopt;
  }
  if (res->result_int() != expect) {
    out.error = std::string(name) + ":" + std::to_string(res->result_int());
    co_return std::nullopt;
  }
  co_return res;
}

std::string fresh_key(const run_state& rs, int worker, std::uint64_t seq, const char* kind) {
  return std::string("bench-") + kind + "-" + rs.nonce + "-" + std::to_string(worker) + "-" +
         std::to_string(seq);
}

awaitable<op_result> create_intent_op(run_state& rs, connection& engine, int worker,
                                      std::uint64_t seq, worker_stats& stats) {
  op_result out;
  co_await step(
      engine,
      engine_post(rs, "/v1/payment_intents", rs.create_body, fresh_key(rs, worker, seq, "create")),
      "create", 200, stats, out);
  co_return out;
}

/// The PSP's own create, as the engine's stripe connector sends it (form
/// fields, secret key, a fresh Idempotency-Key): the sandbox-alone baseline.
awaitable<op_result> sandbox_create_op(run_state& rs, connection& psp, int worker,
                                       std::uint64_t seq, worker_stats& stats) {
  op_result out;
  auto req = make_request(http::verb::post, rs.engine, "/v1/payment_intents");
  req.set(http::field::authorization, "Bearer " + rs.opts.api_key);
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.set("Idempotency-Key", fresh_key(rs, worker, seq, "psp"));
  req.body() = pay::net::encode_form(
      {{"amount", "1000"},
       {"currency", "usd"},
       {"capture_method", "manual"},
       {"metadata[engine_intent_id]",
        "pi_bench_" + rs.nonce + "_" + std::to_string(worker) + "_" + std::to_string(seq)},
       {"payment_method_types[0]", "card"}});
  co_await step(psp, std::move(req), "psp_create", 200, stats, out);
  co_return out;
}

awaitable<op_result> replay_op(run_state& rs, connection& engine, std::uint64_t pick,
                               worker_stats& stats) {
  op_result out;
  const auto& key = rs.replay_keys[pick % rs.replay_keys.size()];
  auto res = co_await step(engine, engine_post(rs, "/v1/payment_intents", rs.create_body, key),
                           "replay", 200, stats, out);
  if (res && (*res)["Idempotent-Replayed"] != "true") out.error = "replay:not_replayed";
  co_return out;
}

awaitable<op_result> webhook_op(run_state& rs, connection& engine, int worker, std::uint64_t seq,
                                worker_stats& stats) {
  op_result out;
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  auto suffix = rs.nonce + "_" + std::to_string(worker) + "_" + std::to_string(seq);
  // A charge event: verified, stored in the inbox and answered like any
  // other; the worker behind records it without touching an intent, so the
  // run measures ingestion rather than intent processing.
  auto body = R"({"id":"evt_bench_)" + suffix + R"(","object":"event","type":"charge.succeeded",)" +
              R"("created":)" + std::to_string(now_s) + R"(,"data":{"object":{"id":"ch_bench_)" +
              suffix + R"(","object":"charge","amount":1000,"currency":"usd"}}})";
  std::vector<std::string> secrets{rs.opts.webhook_secret};
  auto req = make_request(http::verb::post, rs.engine, "/v1/webhooks/" + rs.opts.psp);
  req.set(http::field::content_type, "application/json");
  req.set("Stripe-Signature", pay::psp::make_stripe_signature_header(secrets, now_s, body));
  req.body() = body;
  co_await step(engine, std::move(req), "webhook", 200, stats, out);
  co_return out;
}

/// The intent's audit events (GET /v1/payment_intents/{id}/events: read from
/// the database, never refreshed from the PSP) until `done` accepts one, or
/// the deadline. `done` answers "" to keep polling, "ok", or an error key.
template <class Pred>
awaitable<void> poll_events(run_state& rs, connection& engine, const std::string& id,
                            const char* name, Pred done, worker_stats& stats, op_result& out) {
  auto ex = co_await asio::this_coro::executor;
  auto deadline = clock_type::now() + std::chrono::milliseconds(flow_poll_deadline_ms);
  int wait_ms = flow_poll_first_ms;
  for (;;) {
    asio::steady_timer pause(ex, std::chrono::milliseconds(wait_ms));
    co_await pause.async_wait(asio::use_awaitable);
    wait_ms = std::min(wait_ms * 2, flow_poll_ceiling_ms);
    auto get = make_request(http::verb::get, rs.engine, "/v1/payment_intents/" + id + "/events");
    get.set(http::field::authorization, "Bearer " + rs.opts.api_key);
    auto res = co_await step(engine, std::move(get), name, 200, stats, out);
    if (!res) co_return;
    rapidjson::Document doc;
    doc.Parse(res->body().c_str());
    if (doc.IsObject() && doc.HasMember("data") && doc["data"].IsArray()) {
      for (const auto& e : doc["data"].GetArray()) {
        std::string verdict = done(e);
        if (verdict == "ok") co_return;
        if (!verdict.empty()) {
          out.error = std::string(name) + ":" + verdict;
          co_return;
        }
      }
    }
    if (clock_type::now() >= deadline) {
      out.error = std::string(name) + ":no_webhook_in_time";
      co_return;
    }
  }
}

std::string member(const rapidjson::Value& v, const char* field) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(field);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

/// create (engine) -> confirm at the sandbox as the shopper's browser does
/// (publishable key + client_secret) -> the engine's intent authorized BY
/// THE WEBHOOK (the audit event of the transition has actor "webhook"; one
/// made by a PSP read is an error) -> capture (engine) -> the PSP's
/// succeeded webhook processed (a "webhook" audit event with psp_status
/// succeeded) -> the capture's ledger transaction present.
awaitable<op_result> full_flow_op(run_state& rs, connection& engine, connection& sandbox,
                                  int worker, std::uint64_t seq, worker_stats& stats) {
  op_result out;
  auto created = co_await step(
      engine,
      engine_post(rs, "/v1/payment_intents", rs.create_body, fresh_key(rs, worker, seq, "flow")),
      "create", 200, stats, out);
  if (!created) co_return out;
  rapidjson::Document pi;
  pi.Parse(created->body().c_str());
  auto id = json_string(pi, "id");
  auto psp_id = json_string(pi, "psp_reference");
  auto secret = json_string(pi, "client_secret");
  if (!id || !psp_id || !secret) {
    out.error = "create:bad_body";
    co_return out;
  }
  auto confirm = make_request(http::verb::post, sandbox.where(),
                              "/v1/payment_intents/" + *psp_id + "/confirm");
  confirm.set(http::field::authorization, "Bearer " + rs.opts.publishable_key);
  confirm.set(http::field::content_type, "application/x-www-form-urlencoded");
  confirm.body() =
      pay::net::encode_form({{"payment_method", "pm_card_visa"}, {"client_secret", *secret}});
  if (!co_await step(sandbox, std::move(confirm), "confirm", 200, stats, out)) co_return out;

  co_await poll_events(
      rs, engine, *id, "authorized",
      [](const rapidjson::Value& e) -> std::string {
        if (member(e, "to") != "authorized") return "";
        return member(e, "actor") == "webhook" ? "ok" : "not_by_webhook_" + member(e, "actor");
      },
      stats, out);
  if (!out.error.empty()) co_return out;

  auto captured = co_await step(engine,
                                engine_post(rs, "/v1/payment_intents/" + *id + "/capture", "{}",
                                            fresh_key(rs, worker, seq, "capture")),
                                "capture", 200, stats, out);
  if (!captured) co_return out;
  rapidjson::Document after;
  after.Parse(captured->body().c_str());
  if (json_string(after, "status") != std::optional<std::string>("captured")) {
    out.error = "capture:not_captured";
    co_return out;
  }
  co_await poll_events(
      rs, engine, *id, "captured_webhook",
      [](const rapidjson::Value& e) -> std::string {
        if (member(e, "actor") != "webhook") return "";
        if (member(e, "to") == "captured") return "ok";
        auto data = e.IsObject() ? e.FindMember("data") : e.MemberEnd();
        if (data != e.MemberEnd() && member(data->value, "psp_status") == "succeeded") return "ok";
        return "";
      },
      stats, out);
  if (!out.error.empty()) co_return out;

  auto ledger =
      make_request(http::verb::get, rs.engine, "/v1/ledger/transactions?payment_intent=" + *id);
  ledger.set(http::field::authorization, "Bearer " + rs.opts.api_key);
  auto postings = co_await step(engine, std::move(ledger), "ledger", 200, stats, out);
  if (!postings) co_return out;
  rapidjson::Document txs;
  txs.Parse(postings->body().c_str());
  bool capture_booked = false;
  if (txs.IsObject() && txs.HasMember("data") && txs["data"].IsArray())
    for (const auto& t : txs["data"].GetArray())
      capture_booked = capture_booked || member(t, "kind") == "capture";
  if (!capture_booked) out.error = "ledger:no_capture_posting";
  co_return out;
}

/// Makes the keys the replay scenario replays, before the clock starts, on
/// at most `setup_connections_max` connections. A retryable answer (the
/// engine shedding load, 503) is retried with the same key, which is safe:
/// that is what the key is for.
awaitable<void> create_replay_keys(run_state& rs, connection& engine, std::size_t worker,
                                   std::size_t workers, std::vector<std::string>& failures) {
  auto ex = co_await asio::this_coro::executor;
  for (std::size_t i = worker; i < rs.replay_keys.size(); i += workers) {
    op_result out;
    for (int attempt = 0; attempt < setup_attempts_max; ++attempt) {
      out = {};
      worker_stats ignored;
      co_await step(engine,
                    engine_post(rs, "/v1/payment_intents", rs.create_body, rs.replay_keys[i]),
                    "setup", 200, ignored, out);
      if (out.error.empty()) break;
      asio::steady_timer pause(ex, std::chrono::milliseconds(100 << attempt));
      co_await pause.async_wait(asio::use_awaitable);
    }
    if (!out.error.empty()) failures.push_back(out.error);
  }
}

awaitable<void> worker(run_state& rs, int index, worker_stats& stats) {
  auto ex = co_await asio::this_coro::executor;
  connection engine(ex, rs.engine);
  std::unique_ptr<connection> sandbox;
  if (rs.sandbox) sandbox = std::make_unique<connection>(ex, *rs.sandbox);
  std::uint64_t seq = 0;
  const auto& scenario = rs.opts.scenario;
  std::uint64_t slot = 0;
  while (rs.next(slot)) {
    auto began = clock_type::now();
    if (rs.opts.rate > 0) {
      auto due = rs.due(slot);
      if (due >= rs.deadline) break;
      if (due > began) {
        asio::steady_timer pause(ex, due);
        co_await pause.async_wait(asio::use_awaitable);
      }
      began = due;  // a late start is latency the target caused
    }
    op_result out;
    if (scenario == "create_intent") {
      out = co_await create_intent_op(rs, engine, index, seq, stats);
    } else if (scenario == "idempotent_replay") {
      out = co_await replay_op(rs, engine, static_cast<std::uint64_t>(index) * 7919u + seq, stats);
    } else if (scenario == "webhook_ingest") {
      out = co_await webhook_op(rs, engine, index, seq, stats);
    } else if (scenario == "sandbox_create") {
      out = co_await sandbox_create_op(rs, engine, index, seq, stats);
    } else {
      out = co_await full_flow_op(rs, engine, *sandbox, index, seq, stats);
    }
    ++seq;
    auto ended = clock_type::now();
    ++(out.error.empty() ? stats.ok_all : stats.failed_all);
    if (began < rs.measure_from) continue;  // warm-up: neither counted nor timed
    if (out.error.empty()) {
      ++stats.ok;
      stats.latency_ms.push_back(std::chrono::duration<double, std::milli>(ended - began).count());
    } else {
      ++stats.errors[out.error];
    }
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest sample with at least p of them at or below.
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

/// The CPU time (user + system) this process has used, so the report can
/// split a point's CPU by process (bench/run.sh reads the others' /proc).
double own_cpu_ms() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
  auto ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  auto opts = parse_args(argc, argv);
  static const std::vector<std::string> scenarios{"create_intent", "idempotent_replay",
                                                  "webhook_ingest", "full_flow", "sandbox_create"};
  if (std::find(scenarios.begin(), scenarios.end(), opts.scenario) == scenarios.end())
    usage("unknown scenario '" + opts.scenario + "'");
  if (opts.url.empty()) usage("--url is required");
  if (opts.scenario != "webhook_ingest" && opts.api_key.empty()) usage("an API key is required");
  if (opts.scenario == "webhook_ingest" && opts.webhook_secret.empty())
    usage("webhook_ingest needs --webhook-secret");
  if (opts.scenario == "full_flow" && (opts.sandbox_url.empty() || opts.publishable_key.empty()))
    usage("full_flow needs --sandbox-url and --publishable-key");

  run_state rs;
  rs.opts = opts;
  rs.engine = loopback_target(opts.url);
  if (!opts.sandbox_url.empty()) rs.sandbox = loopback_target(opts.sandbox_url);
  rs.nonce = pay::core::random_token(10);

  asio::io_context io;
  std::vector<worker_stats> stats(static_cast<std::size_t>(opts.concurrency));

  if (opts.scenario == "idempotent_replay") {
    for (int i = 0; i < opts.replay_keys; ++i)
      rs.replay_keys.push_back("bench-replay-" + rs.nonce + "-" + std::to_string(i));
    auto workers =
        std::min<std::size_t>(setup_connections_max, static_cast<std::size_t>(opts.concurrency));
    std::vector<std::vector<std::string>> failures(workers);
    std::vector<std::unique_ptr<connection>> conns;
    for (std::size_t w = 0; w < workers; ++w) {
      conns.push_back(std::make_unique<connection>(io.get_executor(), rs.engine));
      asio::co_spawn(io, create_replay_keys(rs, *conns.back(), w, workers, failures[w]),
                     asio::detached);
    }
    io.run();
    io.restart();
    for (auto& f : failures)
      if (!f.empty()) {
        std::cerr << "loadgen: could not create the replay keys: " << f.front() << "\n";
        return 1;
      }
  }

  rs.start = clock_type::now();
  rs.measure_from = rs.start + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(opts.warmup_s));
  rs.deadline = rs.start + std::chrono::duration_cast<clock_type::duration>(
                               std::chrono::duration<double>(opts.duration_s));
  for (int w = 0; w < opts.concurrency; ++w)
    asio::co_spawn(io, worker(rs, w, stats[static_cast<std::size_t>(w)]), asio::detached);
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < opts.threads; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  auto finished = clock_type::now();

  std::vector<double> all;
  std::map<std::string, std::uint64_t> errors;
  std::uint64_t ok = 0, requests = 0, failed = 0, ok_all = 0, failed_all = 0;
  for (auto& s : stats) {
    ok_all += s.ok_all;
    failed_all += s.failed_all;
    all.insert(all.end(), s.latency_ms.begin(), s.latency_ms.end());
    for (auto& [k, n] : s.errors) {
      errors[k] += n;
      failed += n;
    }
    ok += s.ok;
    requests += s.requests;
  }
  std::sort(all.begin(), all.end());
  double window_s = std::chrono::duration<double>(finished - rs.measure_from).count();

  // Error keys are made here from step names, statuses and transport
  // failures (letters, digits, ':' and '_'), so they need no escaping.
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return std::string(buf);
  };
  std::string out =
      "{\"scenario\":\"" + opts.scenario +
      "\",\"concurrency\":" + std::to_string(opts.concurrency) + ",\"window_s\":" + num(window_s) +
      ",\"ops\":" + std::to_string(ok) + ",\"failed\":" + std::to_string(failed) +
      ",\"requests\":" + std::to_string(requests) + ",\"ops_all\":" + std::to_string(ok_all) +
      ",\"failed_all\":" + std::to_string(failed_all) +
      ",\"ops_per_s\":" + num(window_s > 0 ? static_cast<double>(ok) / window_s : 0.0) +
      ",\"rate_per_s\":" + num(opts.rate) + ",\"p50_ms\":" + num(percentile(all, 0.50)) +
      ",\"p90_ms\":" + num(percentile(all, 0.90)) + ",\"p99_ms\":" + num(percentile(all, 0.99)) +
      ",\"max_ms\":" + num(all.empty() ? 0.0 : all.back()) + ",\"cpu_ms\":" + num(own_cpu_ms()) +
      ",\"errors\":{";
  bool first = true;
  for (auto& [k, n] : errors) {
    out += (first ? "\"" : ",\"") + k + "\":" + std::to_string(n);
    first = false;
  }
  out += "}}";
  std::cout << out << std::endl;
  return 0;
}
