#pragma once

// Internal to net/: what a route handler sees. The API's routes live in
// several translation units (checkout in api_server.cpp, and one file per
// feature area); each registers its handlers into api_state through an
// add_*_routes function called from make_api_handler. Includes CAF through
// caf_bridge.hpp, so only route files include it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <rapidjson/document.h>

#include "actors/engine_metrics.hpp"
#include "core/error.hpp"
#include "core/idempotency.hpp"
#include "core/limits.hpp"
#include "core/rate_limiter.hpp"
#include "core/ttl_cache.hpp"
#include "net/api_error.hpp"
#include "net/api_server.hpp"
#include "net/caf_bridge.hpp"
#include "net/checkout_requests.hpp"
#include "net/http_types.hpp"
#include "net/router.hpp"
#include "storage/merchants.hpp"

namespace pay::net::api {

/// One request in flight: what came in, who asked, and how to answer.
struct call {
  http_request req;
  responder respond;
  std::string request_id;
  std::vector<std::string> params;
  storage::merchant merchant;
  rapidjson::Document body;
  /// The matched route's pattern, never the raw path (metrics, access log).
  std::string_view route = "unrouted";
  /// The intent the request is about, when known (access log).
  std::string intent_id;
  /// The PSP event a webhook delivers (access log).
  std::string psp_event_id;
  /// When the engine must have answered: every hop of the request (claim,
  /// intent actor, storage, PSP gateway) waits at most until then. Under the
  /// server's own deadline, so the client gets the engine's 503 rather than
  /// the transport's 504.
  std::chrono::steady_clock::time_point deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(core::limits::actor_request_timeout_ms);

  void answer(http_response res) {
    res.headers.emplace_back("Request-Id", request_id);
    respond(std::move(res));
  }
  void fail(const core::error& e) { answer(error_response(e)); }
};

using call_ptr = std::shared_ptr<call>;

struct api_state;
using route_fn = void (*)(api_state&, const call_ptr&);

/// A rate limiter the I/O threads share (one short lock per request).
class shared_limiter {
 public:
  shared_limiter(core::rate_limit limit, std::size_t keys_max) : limiter_(limit, keys_max) {}
  core::rate_decision take(std::string_view key) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    std::lock_guard lock(mutex_);
    return limiter_.take(key, now_ms);
  }

 private:
  std::mutex mutex_;
  core::rate_limiter limiter_;
};

/// API key hash -> merchant, answers of the database kept for
/// limits::api_key_cache_ttl_s; shared by the I/O threads.
using api_key_cache = core::ttl_cache<std::string, storage::merchant>;

/// Shared by every request: the routes and the actors they talk to.
struct api_state {
  api_actors actors;
  api_options options;
  /// Merchant routes: run after bearer authentication, c->merchant is set.
  router<route_fn> routes;
  /// /v1/admin/... (and the trial balance): run after the admin token.
  router<route_fn> admin_routes;
  /// Paths outside /v1 that do their own access control (pages, /metrics);
  /// tried before authentication.
  router<route_fn> public_routes;
  std::atomic<std::size_t> next_storage{0};
  std::atomic<std::uint64_t> webhook_signature_failures{0};
  std::atomic<std::uint64_t> webhook_invalid_events{0};
  /// Per merchant (API), per client address (public pages, session creates).
  std::unique_ptr<shared_limiter> api_limiter;
  std::unique_ptr<shared_limiter> public_limiter;
  std::unique_ptr<shared_limiter> session_limiter;
  api_key_cache key_cache{std::chrono::seconds(core::limits::api_key_cache_ttl_s),
                          core::limits::api_key_cache_entries_max};

  const actors::storage_actor& storage() {
    return actors
        .storage[next_storage.fetch_add(1, std::memory_order_relaxed) % actors.storage.size()];
  }
  caf::actor_system& sys() { return *actors.system; }
};

// ---- registration, one per feature file ---------------------------------------

void add_checkout_routes(api_state& st);  // api_server.cpp
void add_admin_routes(api_state& st);     // api_server.cpp
void add_ledger_routes(api_state& st);    // api_server.cpp
// Payment links and the hosted checkout page: checkout_routes.cpp.
void add_hosted_checkout_routes(api_state& st);
void add_metrics_routes(api_state& st);  // metrics_routes.cpp

/// The actor inspector's JSON views and console files (inspector_routes.cpp).
void add_inspector_routes(api_state& st);

// reconciliation_routes.cpp
void add_reconciliation_routes(api_state& st);

/// Merchants' webhook endpoints, events, deliveries and replays
/// (webhook_endpoint_routes.cpp).
void add_webhook_endpoint_routes(api_state& st);

/// Disputes: list, one, evidence (dispute_routes.cpp).
void add_dispute_routes(api_state& st);

/// Answers the intent's JSON with its `disputes` (dispute_routes.cpp).
void answer_intent_with_disputes(api_state& st, const call_ptr& c, core::payment_intent pi);

/// GET/POST /v1/routing, the routing decisions (routing_routes.cpp).
void add_routing_routes(api_state& st);

/// GET /v1/openapi.json, and the route listing (openapi_routes.cpp).
void add_openapi_routes(api_state& st);

/// Every add_*_routes above, in order: make_api_handler's route table, also
/// built alone by net::served_routes (api_server.cpp).
void register_routes(api_state& st);

// ---- helpers shared by route files ------------------------------------------------

/// Wraps the responder of `c` so the answer is counted and timed in the
/// metrics and logged as one access-log line with the request's correlation
/// fields (metrics_routes.cpp). `c` outlives its responder's one call.
responder observe_request(call* c, responder inner);

/// The engine's metric families (actors/engine_metrics.hpp).
actors::metrics::engine_metrics& engine_metrics();

/// Records a stored webhook: receive latency since `started`, and a duplicate.
void observe_webhook_received(const std::string& psp, bool duplicate,
                              std::chrono::steady_clock::time_point started);

/// No handler for (method, path): 405 with Allow when the path exists with
/// other methods, else 404.
void answer_route_miss(const call_ptr& c, const router<route_fn>::match& found);

/// The key from `Authorization: Bearer <key>`, or empty.
std::string bearer_key(const http_request& req);

/// True when the request carries the admin token (constant-time compare);
/// false, too, when no admin token is configured.
bool has_admin_token(const api_state& st, const http_request& req);

/// Parses `limit` (1..list_limit_max, default list_limit_default).
core::result<std::size_t> parse_limit(const http_request& req);

/// A positive integer id from the path or query, or nullopt.
std::optional<std::int64_t> parse_id(std::string_view text);

/// Parses the JSON body into c->body; answers 415/400 itself and returns
/// false when the body is not acceptable. An empty body is an empty object.
bool read_json_body(const call_ptr& c);

/// The error answer, with Retry-After on 503s that may clear.
http_response error_answer(const core::error& e);

/// Retryable errors leave an idempotency key resumable; others are final.
bool is_final(core::errc code);

// ---- idempotent execution -----------------------------------------------------------

/// Where an idempotent request stands when it (re)starts.
struct idem_ctx {
  std::int64_t id = 0;  ///< 0: the request carries no Idempotency-Key
  core::recovery_point point = core::recovery_point::started;
  std::optional<std::string> intent_id;
  std::optional<std::string> refund_id;
  /// From psp_requested on: the admitted operation's amount (nullopt: all).
  std::optional<std::int64_t> op_amount;
  std::string psp_key;  ///< the key the PSP sees, the same on every retry
  /// For a create: the intent id every retry of this request uses.
  std::string derived_intent_id;
  /// Set by the executor's work when the final answer was stored with the
  /// operation's own commit (a create's insert): the operation service then
  /// answers without storing it again. Null without an Idempotency-Key.
  std::shared_ptr<std::atomic<bool>> answer_stored = {};
  /// No earlier attempt of this request ran: it has no key, or its key was
  /// claimed fresh (not resumed).
  bool first_attempt = true;
};

/// Finishes a request: the answer, and whether it is final (stored and
/// replayed) or retryable (the key stays resumable).
using finish_fn = std::function<void(http_response, bool final)>;
using executor = std::function<void(const idem_ctx&, finish_fn)>;

/// Runs `exec` under the request's Idempotency-Key: replays a finished
/// answer byte for byte, refuses a reused key (422) or one in flight (409),
/// and otherwise runs from the recorded recovery point, storing a final
/// answer or releasing the key after a retryable failure.
void run_idempotent(api_state& st, const call_ptr& c, executor exec);

/// One operation under an idempotency key, as the operation service sees
/// it: who asks, the key, and the request its fingerprint covers. The API
/// routes build it from their HTTP request, the hosted checkout from the
/// payment link and the visit.
struct operation_request {
  std::string merchant_id;
  std::string key;  ///< a valid Idempotency-Key (core::valid_idempotency_key)
  std::string method;
  std::string path;
  std::string canonical_body;
  std::chrono::steady_clock::time_point deadline;
};

/// The operation service: claims `op`'s key, replays or refuses it, or runs
/// `exec` from the recorded recovery point and stores its final answer (or
/// releases the key after a retryable failure); `answer` gets the response.
void run_operation(api_state& st, operation_request op, executor exec,
                   std::function<void(http_response)> answer);

/// Where shoppers reach the engine's pages: --public-url, or the loopback
/// address of the bound port.
std::string public_base(const api_state& st);

/// Names the PSP a create goes to: the request's, else the merchant's
/// default, else the engine's; a name no configured PSP answers to is a 400.
core::status resolve_psp(const api_state& st, const storage::merchant& m, create_intent_params& p);

/// Creates (or resumes creating) a payment intent for `merchant_id`: the one
/// create path, shared by POST /v1/payment_intents and the hosted checkout.
/// Answers through `done` with the intent's JSON or the error.
void start_create(api_state& st, const std::string& merchant_id, const create_intent_params& p,
                  const idem_ctx& ctx, const std::string& request_id,
                  std::chrono::steady_clock::time_point deadline, finish_fn done);

}  // namespace pay::net::api
