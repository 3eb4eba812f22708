#include "sandbox/store.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cstdlib>

#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/money.hpp"
#include "net/http_types.hpp"
#include "net/json.hpp"
#include "sandbox/clock.hpp"

namespace pay::sandbox {

namespace {

/// Stripe's API version whose shapes the sandbox speaks (that of the OpenAPI
/// reference in /work/shared/stripe).
constexpr std::string_view api_version = "2020-08-27";

/// Objects one mutating request may create at most (intent or refund, payment
/// method, charge, balance transaction, a few events); checked up front so a
/// request is never half applied when the store is full.
constexpr std::size_t room_per_request = 12;

std::optional<std::int64_t> parse_i64(const std::string& text) {
  std::int64_t out = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return out;
}

api_error invalid(std::string message, std::string param, std::string code = {}) {
  api_error e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

api_error unknown_param(const std::string& name) {
  return invalid("Received unknown parameter: " + name, name, "parameter_unknown");
}

api_error missing_param(const std::string& name) {
  return invalid("Missing required param: " + name + ".", name, "parameter_missing");
}

api_error no_such(const std::string& kind, const std::string& id, const std::string& param) {
  api_error e = invalid("No such " + kind + ": '" + id + "'", param, "resource_missing");
  e.status = 404;
  return e;
}

/// An optional integer parameter; `err` is set when present but not an integer.
std::optional<std::int64_t> int_param(const params& p, const std::string& name,
                                      std::optional<api_error>& err) {
  auto raw = p.get(name);
  if (!raw) return std::nullopt;
  auto n = parse_i64(*raw);
  if (!n) err = invalid("Invalid integer: " + *raw, name, "parameter_invalid_integer");
  return n;
}

/// Stripe's `created` filter: `created=N` or `created[gte|gt|lte|lt]=N`
/// (unix seconds). Answers a predicate over an object's created time.
struct created_range {
  std::optional<std::int64_t> gte, gt, lte, lt, eq;
  bool contains(std::int64_t t) const {
    return (!gte || t >= *gte) && (!gt || t > *gt) && (!lte || t <= *lte) && (!lt || t < *lt) &&
           (!eq || t == *eq);
  }
};

std::optional<api_error> read_created(const params& p, created_range& out) {
  std::optional<api_error> err;
  out.eq = int_param(p, "created", err);
  if (err) return err;
  for (const auto& [op, raw] : p.nested("created")) {
    auto n = parse_i64(raw);
    if (!n)
      return invalid("Invalid integer: " + raw, "created[" + op + "]", "parameter_invalid_integer");
    if (op == "gte")
      out.gte = n;
    else if (op == "gt")
      out.gt = n;
    else if (op == "lte")
      out.lte = n;
    else if (op == "lt")
      out.lt = n;
    else
      return invalid("Received unknown parameter: created[" + op + "]", "created[" + op + "]",
                     "parameter_unknown");
  }
  return std::nullopt;
}

/// Refuses a scalar parameter sent with brackets (`amount[x]=1`) and an
/// object parameter sent as a plain value (`metadata=x`), as Stripe does.
std::optional<api_error> check_shapes(const params& p,
                                      std::initializer_list<std::string_view> scalars,
                                      std::initializer_list<std::string_view> objects) {
  for (const auto& [key, value] : p.fields()) {
    auto bracket = key.find('[');
    std::string name = key.substr(0, bracket);
    bool nested = bracket != std::string::npos;
    for (auto s : scalars)
      if (nested && name == s)
        return invalid("Invalid " + name + ": must be a single value, not an object or array.",
                       name, "parameter_invalid_string");
    for (auto o : objects)
      if (!nested && name == o && !value.empty())
        return invalid("Invalid " + name + ": must be an object or array.", name,
                       "parameter_invalid_string");
  }
  return std::nullopt;
}

std::optional<api_error> check_metadata(const params& p) {
  auto pairs = p.nested("metadata");
  if (pairs.size() > core::limits::metadata_keys_max)
    return invalid("Metadata can have at most 50 keys.", "metadata");
  for (const auto& [k, v] : pairs) {
    if (k.empty() || k.find_first_of("[]") != std::string::npos)
      return invalid("Invalid metadata key: '" + k + "'", "metadata");
    if (k.size() > core::limits::metadata_key_length_max)
      return invalid("Metadata keys can be at most 40 characters long.", "metadata[" + k + "]");
    if (v.size() > core::limits::metadata_value_length_max)
      return invalid("Metadata values can be at most 500 characters long.", "metadata[" + k + "]");
  }
  return std::nullopt;
}

store::metadata read_metadata(const params& p) {
  store::metadata out;
  for (auto& [k, v] : p.nested("metadata")) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& kv) { return kv.first == k; });
    if (v.empty()) {  // Stripe: an empty value unsets the key
      if (it != out.end()) out.erase(it);
    } else if (it != out.end()) {
      it->second = v;
    } else {
      out.emplace_back(k, v);
    }
  }
  return out;
}

void write_metadata(net::json_writer& w, const store::metadata& meta) {
  w.key("metadata");
  w.begin_object();
  for (const auto& [k, v] : meta) w.field(k, v);
  w.end_object();
}

void optional_string(net::json_writer& w, std::string_view key,
                     const std::optional<std::string>& v) {
  w.field_optional(key, v);
}

void string_or_null(net::json_writer& w, std::string_view key, const std::string& v) {
  w.key(key);
  if (v.empty())
    w.null();
  else
    w.value(v);
}

/// Test cards carry no billing details: every field present and null.
void write_billing_details(net::json_writer& w) {
  w.key("billing_details");
  w.begin_object();
  w.field_null("address");
  w.field_null("email");
  w.field_null("name");
  w.field_null("phone");
  w.end_object();
}

bool luhn_ok(const std::string& digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

struct test_card {
  std::string_view name;    ///< Stripe's test PaymentMethod name
  std::string_view number;  ///< the matching raw test card number
  std::string_view brand;
  card_outcome outcome;
  bool disputes = false;  ///< the charge is disputed once captured
};

constexpr test_card test_cards[] = {
    {"pm_card_visa", "4242424242424242", "visa", card_outcome::succeed},
    {"pm_card_visa_debit", "4000056655665556", "visa", card_outcome::succeed},
    {"pm_card_mastercard", "5555555555554444", "mastercard", card_outcome::succeed},
    {"pm_card_chargeDeclined", "4000000000000002", "visa", card_outcome::decline_generic},
    {"pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", "visa",
     card_outcome::decline_insufficient_funds},
    {"pm_card_authenticationRequired", "4000002500003155", "visa", card_outcome::require_3ds},
    {"pm_card_threeDSecure2Required", "4000000000003220", "visa", card_outcome::require_3ds},
    {"pm_card_createDispute", "4000000000000259", "visa", card_outcome::succeed, true},
};

std::string json_list(std::string_view url, const std::vector<std::string>& items, bool has_more) {
  net::json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.key("data");
  w.begin_array();
  for (const auto& item : items) w.raw(item);
  w.end_array();
  w.field("has_more", has_more);
  w.field("url", url);
  w.end_object();
  return w.take();
}

/// One page of a list, newest first, as Stripe pages: `limit` (1..100),
/// `starting_after` (older than that id) or `ending_before` (newer than it).
template <class Keep, class Render>
api_result list_page(const std::vector<std::string>& order, const params& p, std::string_view url,
                     Keep keep, Render render) {
  std::optional<api_error> err;
  auto limit = int_param(p, "limit", err);
  if (err) return err->render();
  if (limit && (*limit < 1 || *limit > static_cast<std::int64_t>(core::limits::list_limit_max)))
    return invalid("This value must be between 1 and 100 (it currently is " +
                       std::to_string(*limit) + ").",
                   "limit", "parameter_invalid_integer")
        .render();
  std::size_t page = limit ? static_cast<std::size_t>(*limit) : core::limits::list_limit_default;
  std::vector<std::string> newest_first;
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (keep(*it)) newest_first.push_back(*it);
  auto after = p.get("starting_after");
  auto before = p.get("ending_before");
  std::size_t begin = 0;
  std::size_t end = newest_first.size();
  if (after) {
    auto it = std::find(newest_first.begin(), newest_first.end(), *after);
    if (it == newest_first.end()) return no_such("object", *after, "starting_after").render();
    begin = static_cast<std::size_t>(it - newest_first.begin()) + 1;
  } else if (before) {
    auto it = std::find(newest_first.begin(), newest_first.end(), *before);
    if (it == newest_first.end()) return no_such("object", *before, "ending_before").render();
    end = static_cast<std::size_t>(it - newest_first.begin());
    begin = end > page ? end - page : 0;
  }
  std::vector<std::string> items;
  for (std::size_t i = begin; i < end && items.size() < page; ++i)
    items.push_back(render(newest_first[i]));
  bool has_more = before ? begin > 0 : begin + items.size() < end;
  return {200, json_list(url, items, has_more)};
}

}  // namespace

std::string_view to_string(pi_status s) {
  switch (s) {
    case pi_status::requires_payment_method:
      return "requires_payment_method";
    case pi_status::requires_confirmation:
      return "requires_confirmation";
    case pi_status::requires_action:
      return "requires_action";
    case pi_status::processing:
      return "processing";
    case pi_status::requires_capture:
      return "requires_capture";
    case pi_status::succeeded:
      return "succeeded";
    case pi_status::canceled:
      return "canceled";
  }
  return "unknown";
}

std::int64_t charge_fee(const fee_schedule& fees, std::int64_t amount_minor) {
  // amount <= 99'999'999 and bp <= 10'000, so the product fits easily.
  assert(amount_minor >= 0 && fees.percent_bp >= 0 && fees.percent_bp <= 10'000);
  return (amount_minor * fees.percent_bp + 5'000) / 10'000 + fees.fixed_minor;
}

api_result api_error::render() const {
  net::json_writer w;
  w.begin_object();
  w.key("error");
  w.begin_object();
  if (!charge.empty()) w.field("charge", charge);
  if (!code.empty()) w.field("code", code);
  if (!decline_code.empty()) w.field("decline_code", decline_code);
  if (!code.empty()) w.field("doc_url", "https://stripe.com/docs/error-codes/" + code);
  w.field("message", message);
  if (!param.empty()) w.field("param", param);
  if (!payment_intent_json.empty()) {
    w.key("payment_intent");
    w.raw(payment_intent_json);
  }
  if (!payment_method_json.empty()) {
    w.key("payment_method");
    w.raw(payment_method_json);
  }
  w.field("type", type);
  w.end_object();
  w.end_object();
  return {status, w.take()};
}

store::store(fee_schedule fees, std::size_t objects_max, event_sink sink)
    : fees_(fees), objects_max_(objects_max), sink_(std::move(sink)) {}

std::int64_t store::now_s() const {
  // The sandbox's one clock (sandbox/clock.hpp), test clock included.
  return clock::now_s();
}

std::optional<api_error> store::check_room(std::size_t needed) const {
  if (objects_ + needed <= objects_max_) return std::nullopt;
  api_error e = invalid("The sandbox holds its maximum of " + std::to_string(objects_max_) +
                            " objects; restart it or raise --objects-max.",
                        "", "sandbox_objects_max_reached");
  return e;
}

void store::emit(const std::string& type, const std::string& object_json,
                 const request_context& ctx) {
  event ev{core::make_id("evt"), type, {}};
  net::json_writer w;
  w.begin_object();
  w.field("id", ev.id);
  w.field("object", "event");
  w.field("api_version", api_version);
  w.field("created", now_s());
  w.key("data");
  w.begin_object();
  w.key("object");
  w.raw(object_json);
  w.end_object();
  w.field("livemode", false);
  w.field("pending_webhooks", webhooks_enabled_ ? 1 : 0);
  w.key("request");
  w.begin_object();
  string_or_null(w, "id", ctx.request_id);
  string_or_null(w, "idempotency_key", ctx.idempotency_key);
  w.end_object();
  w.field("type", type);
  w.end_object();
  ev.json = w.take();
  ++objects_;
  event_order_.push_back(ev.id);
  auto& stored = events_.emplace(ev.id, std::move(ev)).first->second;
  if (sink_) sink_(stored.id, stored.type, stored.json);
}

// ---- JSON renderings --------------------------------------------------------

std::string store::pi_json(const payment_intent& pi) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", pi.id);
  w.field("object", "payment_intent");
  w.field("amount", pi.amount);
  w.field("amount_capturable", pi.amount_capturable);
  w.field("amount_received", pi.amount_received);
  w.field_null("application");
  w.field_null("application_fee_amount");
  w.field_null("automatic_payment_methods");
  w.field_optional("canceled_at", pi.canceled_at);
  optional_string(w, "cancellation_reason", pi.cancellation_reason);
  w.field("capture_method", pi.manual_capture ? "manual" : "automatic");
  // API versions before 2022-11-15 (the one the engine pins) embed the
  // intent's charges; the sandbox keeps the latest one, as Stripe lists it.
  w.key("charges");
  {
    std::vector<std::string> items;
    if (pi.latest_charge)
      if (auto ch = charges_.find(*pi.latest_charge); ch != charges_.end())
        items.push_back(charge_json(ch->second));
    w.raw(json_list("/v1/charges?payment_intent=" + pi.id, items, false));
  }
  w.field("client_secret", pi.client_secret);
  w.field("confirmation_method", "automatic");
  w.field("created", pi.created);
  w.field("currency", pi.currency);
  w.field_null("customer");
  optional_string(w, "description", pi.description);
  w.field_null("invoice");
  w.key("last_payment_error");
  if (pi.last_payment_error) {
    const auto& e = *pi.last_payment_error;
    w.begin_object();
    if (!e.charge.empty()) w.field("charge", e.charge);
    w.field("code", e.code);
    if (!e.decline_code.empty()) w.field("decline_code", e.decline_code);
    w.field("doc_url", "https://stripe.com/docs/error-codes/" + e.code);
    w.field("message", e.message);
    if (!e.payment_method.empty()) {
      w.key("payment_method");
      w.raw(payment_method_json(e.payment_method));
    }
    w.field("type", e.type);
    w.end_object();
  } else {
    w.null();
  }
  optional_string(w, "latest_charge", pi.latest_charge);
  w.field("livemode", false);
  write_metadata(w, pi.meta);
  w.key("next_action");
  if (pi.status == pi_status::requires_action) {
    w.begin_object();
    w.field("type", "redirect_to_url");
    w.key("redirect_to_url");
    w.begin_object();
    optional_string(w, "return_url", pi.return_url);
    w.field("url", pi.authentication_url);
    w.end_object();
    w.end_object();
  } else {
    w.null();
  }
  w.field_null("on_behalf_of");
  optional_string(w, "payment_method", pi.payment_method);
  w.key("payment_method_options");
  w.begin_object();
  w.end_object();
  w.key("payment_method_types");
  w.begin_array();
  for (const auto& t : pi.payment_method_types) w.value(t);
  w.end_array();
  w.field_null("processing");
  w.field_null("receipt_email");
  w.field_null("review");
  w.field_null("setup_future_usage");
  w.field_null("shipping");
  w.field_null("statement_descriptor");
  w.field_null("statement_descriptor_suffix");
  w.field("status", to_string(pi.status));
  w.field_null("transfer_data");
  w.field_null("transfer_group");
  w.end_object();
  return w.take();
}

std::string store::charge_json(const charge& ch) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", ch.id);
  w.field("object", "charge");
  w.field("amount", ch.amount);
  w.field("amount_captured", ch.amount_captured);
  w.field("amount_refunded", ch.amount_refunded);
  optional_string(w, "balance_transaction", ch.balance_transaction);
  write_billing_details(w);
  w.field("captured", ch.captured);
  w.field("created", ch.created);
  w.field("currency", ch.currency);
  optional_string(w, "description", ch.description);
  w.field("disputed", ch.dispute.has_value());
  string_or_null(w, "failure_code", ch.failure_code);
  string_or_null(w, "failure_message", ch.failure_message);
  w.field("livemode", false);
  write_metadata(w, ch.meta);
  w.key("outcome");
  w.begin_object();
  bool ok = ch.status == "succeeded";
  w.field("network_status", ok ? "approved_by_network" : "declined_by_network");
  string_or_null(w, "reason", ch.decline_code);
  w.field("risk_level", "normal");
  w.field("seller_message", ok ? "Payment complete."
                               : "The bank did not return any further "
                                 "details with this decline.");
  w.field("type", ok ? "authorized" : "issuer_declined");
  w.end_object();
  w.field("paid", ch.paid);
  w.field("payment_intent", ch.payment_intent);
  w.field("payment_method", ch.payment_method);
  w.key("payment_method_details");
  w.begin_object();
  w.key("card");
  w.begin_object();
  if (auto it = payment_methods_.find(ch.payment_method); it != payment_methods_.end()) {
    w.field("brand", it->second.brand);
    w.field("exp_month", it->second.exp_month);
    w.field("exp_year", it->second.exp_year);
    w.field("last4", it->second.last4);
    w.field("network", it->second.brand);
  }
  // Stripe tells until when an uncaptured authorisation can be captured.
  if (ch.status == "succeeded" && !ch.captured)
    w.field("capture_before", ch.created + uncaptured_validity_s);
  w.field("country", "US");
  w.field("funding", "credit");
  w.end_object();
  w.field("type", "card");
  w.end_object();
  w.field("refunded", ch.amount_captured > 0 && ch.amount_refunded == ch.amount_captured);
  w.key("refunds");
  std::vector<std::string> items;
  for (auto it = ch.refunds.rbegin(); it != ch.refunds.rend(); ++it)
    items.push_back(refund_json(refunds_.at(*it)));
  w.raw(json_list("/v1/charges/" + ch.id + "/refunds", items, false));
  w.field("status", ch.status);
  w.end_object();
  return w.take();
}

std::string store::payment_method_json(const std::string& id) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", id);
  w.field("object", "payment_method");
  write_billing_details(w);
  w.key("card");
  w.begin_object();
  if (auto it = payment_methods_.find(id); it != payment_methods_.end()) {
    w.field("brand", it->second.brand);
    w.field("country", "US");
    w.field("exp_month", it->second.exp_month);
    w.field("exp_year", it->second.exp_year);
    w.field("funding", "credit");
    w.field("last4", it->second.last4);
  }
  w.end_object();
  if (auto it = payment_methods_.find(id); it != payment_methods_.end())
    w.field("created", it->second.created);
  w.field_null("customer");
  w.field("livemode", false);
  w.key("metadata");
  w.begin_object();
  w.end_object();
  w.field("type", "card");
  w.end_object();
  return w.take();
}

std::string store::refund_json(const refund& r) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", r.id);
  w.field("object", "refund");
  w.field("amount", r.amount);
  w.field("balance_transaction", r.balance_transaction);
  w.field("charge", r.charge);
  w.field("created", r.created);
  w.field("currency", r.currency);
  write_metadata(w, r.meta);
  w.field("payment_intent", r.payment_intent);
  optional_string(w, "reason", r.reason);
  w.field_null("receipt_number");
  w.field("status", r.status);
  // Stripe sends these only for a refund that failed.
  if (r.failure_reason) w.field("failure_reason", *r.failure_reason);
  if (r.failure_balance_transaction)
    w.field("failure_balance_transaction", *r.failure_balance_transaction);
  w.end_object();
  return w.take();
}

std::string store::bt_json(const balance_transaction& bt) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", bt.id);
  w.field("object", "balance_transaction");
  w.field("amount", bt.amount);
  w.field("available_on", bt.available_on);
  w.field("created", bt.created);
  w.field("currency", bt.currency);
  w.field("description", bt.description);
  w.field_null("exchange_rate");
  w.field("fee", bt.fee);
  w.key("fee_details");
  w.begin_array();
  if (bt.fee != 0) {
    w.begin_object();
    w.field("amount", bt.fee);
    w.field_null("application");
    w.field("currency", bt.currency);
    w.field("description", "Stripe processing fees");
    w.field("type", "stripe_fee");
    w.end_object();
  }
  w.end_array();
  w.field("net", bt.net);
  optional_string(w, "payout", bt.payout);
  w.field("reporting_category", bt.category.empty() ? bt.type : bt.category);
  w.field("source", bt.source);
  w.field("status", bt.payout ? "available" : "pending");
  w.field("type", bt.type);
  w.end_object();
  return w.take();
}

std::string store::payout_json(const payout& po) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", po.id);
  w.field("object", "payout");
  w.field("amount", po.amount);
  w.field("arrival_date", po.arrival_date);
  w.field("automatic", true);
  w.field_null("balance_transaction");
  w.field("created", po.created);
  w.field("currency", po.currency);
  w.field("description", "STRIPE PAYOUT");
  w.field_null("destination");
  if (po.failure_balance_transaction)
    w.field("failure_balance_transaction", *po.failure_balance_transaction);
  else
    w.field_null("failure_balance_transaction");
  if (po.failure_code) {
    w.field("failure_code", *po.failure_code);
    w.field("failure_message", "The bank account has been closed.");
  } else {
    w.field_null("failure_code");
    w.field_null("failure_message");
  }
  w.field("livemode", false);
  w.key("metadata");
  w.begin_object();
  w.end_object();
  w.field("method", "standard");
  w.field_null("original_payout");
  w.field_null("reversed_by");
  w.field("source_type", "card");
  w.field_null("statement_descriptor");
  w.field("status", po.status);
  w.field("type", "bank_account");
  w.end_object();
  return w.take();
}

// ---- payment methods --------------------------------------------------------

std::optional<std::string> store::resolve_payment_method(const params& p, api_error& err) {
  auto data = p.nested("payment_method_data");
  auto named = p.get("payment_method");
  if (named && !data.empty()) {
    err = invalid(
        "You may only specify one of these parameters: payment_method, "
        "payment_method_data.",
        "payment_method");
    return std::nullopt;
  }
  if (named) {
    if (payment_methods_.count(*named) != 0) return *named;
    for (const auto& card : test_cards) {
      if (card.name != *named) continue;
      payment_method pm;
      pm.id = core::make_id("pm");
      pm.brand = std::string(card.brand);
      pm.last4 = std::string(card.number.substr(card.number.size() - 4));
      pm.outcome = card.outcome;
      pm.disputes = card.disputes;
      pm.created = now_s();
      ++objects_;
      auto id = pm.id;
      payment_methods_.emplace(id, std::move(pm));
      return id;
    }
    err = no_such("PaymentMethod", *named, "payment_method");
    return std::nullopt;
  }
  if (data.empty()) return std::nullopt;
  // Raw card details, as the hosted card iframe (like Stripe.js) sends them.
  std::string type, number, exp_month, exp_year, cvc;
  for (const auto& [k, v] : data) {
    if (k == "type")
      type = v;
    else if (k == "card][number")
      number = v;
    else if (k == "card][exp_month")
      exp_month = v;
    else if (k == "card][exp_year")
      exp_year = v;
    else if (k == "card][cvc")
      cvc = v;
    else if (k.starts_with("billing_details]"))
      continue;
    else {
      err = unknown_param("payment_method_data[" + k + "]");
      return std::nullopt;
    }
  }
  if (type != "card") {
    err = invalid("Invalid payment_method_data[type]: must be card", "payment_method_data[type]",
                  "parameter_invalid_string");
    return std::nullopt;
  }
  auto card_error = [&](std::string code, std::string message, std::string param) {
    err = invalid(std::move(message), std::move(param), std::move(code));
    err.type = "card_error";
    err.status = 402;
  };
  std::string digits;
  for (char c : number)
    if (c != ' ') digits.push_back(c);
  if (digits.size() < 12 || digits.size() > 19 ||
      digits.find_first_not_of("0123456789") != std::string::npos || !luhn_ok(digits)) {
    card_error("incorrect_number", "Your card number is incorrect.",
               "payment_method_data[card][number]");
    return std::nullopt;
  }
  auto month = parse_i64(exp_month);
  if (!month || *month < 1 || *month > 12) {
    card_error("invalid_expiry_month", "Your card's expiration month is invalid.",
               "payment_method_data[card][exp_month]");
    return std::nullopt;
  }
  auto year = parse_i64(exp_year);
  if (year && *year < 100) *year += 2000;
  auto this_year = 1970 + now_s() / 31'556'952;
  if (!year || *year < this_year || *year > this_year + 50) {
    card_error("invalid_expiry_year", "Your card's expiration year is invalid.",
               "payment_method_data[card][exp_year]");
    return std::nullopt;
  }
  if (!cvc.empty() && (cvc.size() < 3 || cvc.size() > 4 ||
                       cvc.find_first_not_of("0123456789") != std::string::npos)) {
    card_error("invalid_cvc", "Your card's security code is invalid.",
               "payment_method_data[card][cvc]");
    return std::nullopt;
  }
  payment_method pm;
  pm.id = core::make_id("pm");
  pm.last4 = digits.substr(digits.size() - 4);
  pm.exp_month = *month;
  pm.exp_year = *year;
  pm.created = now_s();
  // A valid number that is no test card declines, as Stripe's test mode does.
  pm.brand = digits[0] == '5' ? "mastercard" : "visa";
  pm.outcome = card_outcome::decline_generic;
  for (const auto& card : test_cards) {
    if (card.number != digits) continue;
    pm.brand = std::string(card.brand);
    pm.outcome = card.outcome;
    pm.disputes = card.disputes;
  }
  ++objects_;
  auto id = pm.id;
  payment_methods_.emplace(id, std::move(pm));
  return id;
}

// ---- payment intents --------------------------------------------------------

/// A return_url must be an absolute http(s) URL, as Stripe requires: the
/// 3-D Secure page sends the shopper (and the client secret) there, so a
/// javascript: or data: URL, or a relative one, is refused at the door.
static std::optional<api_error> bad_return_url(const params& p) {
  auto url = p.get("return_url");
  if (!url) return std::nullopt;
  constexpr std::size_t url_length_max = 2048;
  std::string_view u = *url;
  auto scheme_end = u.find("://");
  std::string scheme(u.substr(0, scheme_end == std::string_view::npos ? 0 : scheme_end));
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  bool ok = u.size() <= url_length_max && (scheme == "http" || scheme == "https") &&
            scheme_end + 3 < u.size() && u[scheme_end + 3] != '/';
  for (unsigned char ch : u) ok = ok && ch > 0x20 && ch != 0x7f;
  if (ok) return std::nullopt;
  return invalid("Invalid URL: return_url must be an absolute http or https URL.", "return_url",
                 "url_invalid");
}

api_result store::create_payment_intent(const params& p, const request_context& ctx) {
  if (auto bad =
          p.first_unknown({"amount", "currency", "capture_method", "payment_method_types",
                           "metadata", "description", "confirm", "payment_method",
                           "payment_method_data", "return_url", "expand", "confirmation_method"}))
    return unknown_param(*bad).render();
  if (auto bad = check_shapes(p,
                              {"amount", "currency", "capture_method", "description", "confirm",
                               "payment_method", "return_url", "confirmation_method"},
                              {"metadata", "payment_method_types", "payment_method_data"}))
    return bad->render();
  if (auto bad = bad_return_url(p)) return bad->render();
  if (!p.get("amount")) return missing_param("amount").render();
  std::optional<api_error> err;
  auto amount = int_param(p, "amount", err);
  if (err) return err->render();
  if (*amount < 1)
    return invalid("Amount must be at least 1 minor unit.", "amount", "amount_too_small").render();
  if (*amount > core::limits::amount_minor_max)
    return invalid("Amount must be no more than 99999999 minor units.", "amount",
                   "amount_too_large")
        .render();
  auto currency_raw = p.get("currency");
  if (!currency_raw) return missing_param("currency").render();
  auto cur = core::find_currency(*currency_raw);
  if (!cur)
    return invalid("Invalid currency: " + *currency_raw + ".", "currency",
                   "parameter_invalid_string")
        .render();
  auto capture_method = p.get("capture_method").value_or("automatic");
  if (capture_method != "automatic" && capture_method != "manual")
    return invalid("Invalid capture_method: must be one of automatic or manual", "capture_method",
                   "parameter_invalid_string")
        .render();
  auto confirmation_method = p.get("confirmation_method").value_or("automatic");
  if (confirmation_method != "automatic" && confirmation_method != "manual")
    return invalid("Invalid confirmation_method: must be one of automatic or manual",
                   "confirmation_method", "parameter_invalid_string")
        .render();
  auto types = p.list("payment_method_types");
  if (types.empty()) types.push_back("card");
  for (const auto& t : types)
    if (t != "card")
      return invalid("The payment method type \"" + t +
                         "\" is invalid; the sandbox supports "
                         "only card.",
                     "payment_method_types", "payment_method_invalid_parameter")
          .render();
  if (auto bad = check_metadata(p)) return bad->render();
  auto description = p.get("description");
  if (description && description->size() > core::limits::description_length_max)
    return invalid("Description can be at most 1000 characters long.", "description").render();
  auto confirm = p.get("confirm").value_or("false");
  if (confirm != "true" && confirm != "false")
    return invalid("Invalid boolean: " + confirm, "confirm", "parameter_invalid_boolean").render();
  if (auto full = check_room(room_per_request)) return full->render();
  api_error pm_err;
  auto pm = resolve_payment_method(p, pm_err);
  if (!pm && !pm_err.message.empty()) return pm_err.render();

  payment_intent pi;
  pi.id = core::make_id("pi");
  pi.amount = *amount;
  pi.currency = std::string(cur->code);
  pi.manual_capture = capture_method == "manual";
  pi.client_secret = pi.id + "_secret_" + core::random_token(24);
  pi.created = now_s();
  pi.description = description;
  pi.meta = read_metadata(p);
  pi.payment_method_types = types;
  pi.payment_method = pm;
  pi.return_url = p.get("return_url");
  pi.status = pm ? pi_status::requires_confirmation : pi_status::requires_payment_method;
  ++objects_;
  auto& stored = intents_.emplace(pi.id, std::move(pi)).first->second;
  emit("payment_intent.created", pi_json(stored), ctx);
  if (confirm == "true") {
    if (!stored.payment_method)
      return invalid(
                 "You cannot confirm this PaymentIntent because it's missing a payment "
                 "method.",
                 "payment_method", "parameter_missing")
          .render();
    return attempt_payment(stored, ctx);
  }
  return {200, pi_json(stored)};
}

api_result store::retrieve_payment_intent(const std::string& id, const params& p,
                                          const request_context& ctx) {
  if (auto bad = p.first_unknown({"client_secret", "expand"})) return unknown_param(*bad).render();
  auto it = intents_.find(id);
  if (it == intents_.end()) return no_such("payment_intent", id, "intent").render();
  expire_if_lapsed(it->second, ctx);
  if (ctx.key == key_kind::publishable) {
    auto secret = p.get("client_secret");
    if (!secret) return missing_param("client_secret").render();
    if (!client_secret_matches(id, *secret))
      return invalid(
                 "The client_secret provided does not match the client_secret associated "
                 "with the PaymentIntent.",
                 "client_secret", "payment_intent_invalid_parameter")
          .render();
  }
  return {200, pi_json(it->second)};
}

bool store::client_secret_matches(const std::string& pi_id, const std::string& secret) const {
  auto it = intents_.find(pi_id);
  return it != intents_.end() && it->second.client_secret == secret;
}

api_result store::confirm_payment_intent(const std::string& id, const params& p,
                                         const request_context& ctx) {
  if (auto bad = p.first_unknown({"payment_method", "payment_method_data", "client_secret",
                                  "return_url", "expand", "key", "use_stripe_sdk"}))
    return unknown_param(*bad).render();
  if (auto bad = check_shapes(p, {"payment_method", "client_secret", "return_url"},
                              {"payment_method_data"}))
    return bad->render();
  if (auto bad = bad_return_url(p)) return bad->render();
  auto it = intents_.find(id);
  if (it == intents_.end()) return no_such("payment_intent", id, "intent").render();
  auto& pi = it->second;
  auto secret = p.get("client_secret");
  if (ctx.key == key_kind::publishable && !secret) return missing_param("client_secret").render();
  if (secret && *secret != pi.client_secret)
    return invalid(
               "The client_secret provided does not match the client_secret associated "
               "with the PaymentIntent.",
               "client_secret", "payment_intent_invalid_parameter")
        .render();
  if (pi.status != pi_status::requires_payment_method &&
      pi.status != pi_status::requires_confirmation) {
    auto e = invalid("You cannot confirm this PaymentIntent because it has a status of " +
                         std::string(to_string(pi.status)) +
                         ". Only a PaymentIntent with one of the following statuses may be "
                         "confirmed: requires_payment_method, requires_confirmation.",
                     "", "payment_intent_unexpected_state");
    e.payment_intent_json = pi_json(pi);
    return e.render();
  }
  if (auto full = check_room(room_per_request)) return full->render();
  api_error pm_err;
  auto pm = resolve_payment_method(p, pm_err);
  if (!pm && !pm_err.message.empty()) return pm_err.render();
  if (pm) pi.payment_method = pm;
  if (!pi.payment_method)
    return invalid(
               "You cannot confirm this PaymentIntent because it's missing a payment "
               "method.",
               "payment_method", "parameter_missing")
        .render();
  if (auto url = p.get("return_url")) pi.return_url = url;
  return attempt_payment(pi, ctx);
}

api_result store::attempt_payment(payment_intent& pi, const request_context& ctx) {
  const auto& pm = payment_methods_.at(*pi.payment_method);
  if (ctx.async_confirm && pm.outcome != card_outcome::require_3ds) {
    // The processing fault: the card's outcome arrives later, by event only.
    pi.status = pi_status::processing;
    emit("payment_intent.processing", pi_json(pi), ctx);
    processing_.push_back(pi.id);
    return {200, pi_json(pi)};
  }
  return charge_card(pi, ctx);
}

void store::finish_processing(const std::string& id, const request_context& ctx) {
  auto it = intents_.find(id);
  if (it == intents_.end() || it->second.status != pi_status::processing) return;
  charge_card(it->second, ctx);
}

std::vector<std::string> store::take_processing() {
  std::vector<std::string> out;
  out.swap(processing_);
  return out;
}

api_result store::charge_card(payment_intent& pi, const request_context& ctx) {
  const auto& pm = payment_methods_.at(*pi.payment_method);
  switch (pm.outcome) {
    case card_outcome::succeed:
      succeed_payment(pi, ctx);
      return {200, pi_json(pi)};
    case card_outcome::require_3ds:
      pi.status = pi_status::requires_action;
      pi.authentication_url = ctx.base_url + "/3ds/" + pi.id + "?client_secret=" + pi.client_secret;
      emit("payment_intent.requires_action", pi_json(pi), ctx);
      return {200, pi_json(pi)};
    case card_outcome::decline_generic:
    case card_outcome::decline_insufficient_funds: {
      bool funds = pm.outcome == card_outcome::decline_insufficient_funds;
      charge ch;
      ch.id = core::make_id("ch");
      ch.payment_intent = pi.id;
      ch.payment_method = pm.id;
      ch.amount = pi.amount;
      ch.currency = pi.currency;
      ch.status = "failed";
      ch.failure_code = "card_declined";
      ch.failure_message = funds ? "Your card has insufficient funds." : "Your card was declined.";
      ch.decline_code = funds ? "insufficient_funds" : "generic_decline";
      ch.description = pi.description;
      ch.meta = pi.meta;
      ch.created = now_s();
      ++objects_;
      auto charge_id = ch.id;
      charges_.emplace(ch.id, ch);
      pi.latest_charge = charge_id;
      api_error e;
      e.status = 402;
      e.type = "card_error";
      e.code = "card_declined";
      e.decline_code = ch.decline_code;
      e.message = ch.failure_message;
      e.charge = charge_id;
      e.payment_method_json = payment_method_json(pm.id);
      fail_payment(pi, charge_id, e, ctx);
      e.payment_intent_json = pi_json(pi);
      return e.render();
    }
  }
  return {500, "{}"};
}

void store::succeed_payment(payment_intent& pi, const request_context& ctx) {
  charge ch;
  ch.id = core::make_id("ch");
  ch.payment_intent = pi.id;
  ch.payment_method = *pi.payment_method;
  ch.amount = pi.amount;
  ch.currency = pi.currency;
  ch.status = "succeeded";
  ch.paid = true;
  ch.description = pi.description;
  ch.meta = pi.meta;
  ch.created = now_s();
  ++objects_;
  auto& stored = charges_.emplace(ch.id, std::move(ch)).first->second;
  pi.latest_charge = stored.id;
  pi.last_payment_error.reset();
  if (pi.manual_capture) {
    pi.amount_capturable = pi.amount;
    pi.status = pi_status::requires_capture;
    emit("charge.succeeded", charge_json(stored), ctx);
    emit("payment_intent.amount_capturable_updated", pi_json(pi), ctx);
  } else {
    stored.captured = true;
    stored.amount_captured = pi.amount;
    add_charge_balance_transaction(stored, pi.amount);
    pi.amount_received = pi.amount;
    pi.status = pi_status::succeeded;
    emit("charge.succeeded", charge_json(stored), ctx);
    emit("payment_intent.succeeded", pi_json(pi), ctx);
    open_dispute(stored, ctx);
  }
}

void store::fail_payment(payment_intent& pi, const std::string& charge_id, const api_error& err,
                         const request_context& ctx) {
  last_error le;
  le.type = err.type;
  le.code = err.code;
  le.decline_code = err.decline_code;
  le.message = err.message;
  le.charge = charge_id;
  le.payment_method = pi.payment_method.value_or("");  // rendered as the object
  pi.last_payment_error = le;
  // As Stripe does: the failed method is detached so a new one must be given.
  pi.payment_method.reset();
  pi.status = pi_status::requires_payment_method;
  if (!charge_id.empty()) emit("charge.failed", charge_json(charges_.at(charge_id)), ctx);
  emit("payment_intent.payment_failed", pi_json(pi), ctx);
}

std::string store::add_charge_balance_transaction(charge& ch, std::int64_t amount) {
  balance_transaction bt;
  bt.id = core::make_id("txn");
  bt.type = "charge";
  bt.amount = amount;
  bt.fee = charge_fee(fees_, amount);
  bt.net = amount - bt.fee;
  bt.currency = ch.currency;
  bt.source = ch.id;
  bt.description = "Payment for " + ch.payment_intent;
  bt.created = now_s();
  bt.available_on = bt.created;
  ++objects_;
  ch.balance_transaction = bt.id;
  bt_order_.push_back(bt.id);
  auto id = bt.id;
  balance_transactions_.emplace(id, std::move(bt));
  return id;
}

api_result store::complete_authentication(const std::string& id, bool approve,
                                          const request_context& ctx) {
  auto it = intents_.find(id);
  if (it == intents_.end()) return no_such("payment_intent", id, "intent").render();
  auto& pi = it->second;
  if (pi.status != pi_status::requires_action) {
    auto e = invalid("This PaymentIntent has a status of " + std::string(to_string(pi.status)) +
                         "; only one in requires_action has a 3-D Secure challenge.",
                     "", "payment_intent_unexpected_state");
    e.payment_intent_json = pi_json(pi);
    return e.render();
  }
  if (auto full = check_room(room_per_request)) return full->render();
  if (approve) {
    succeed_payment(pi, ctx);
  } else {
    api_error e;
    e.type = "invalid_request_error";
    e.code = "payment_intent_authentication_failure";
    e.message =
        "The provided PaymentMethod has failed authentication. You can provide payment_method_data "
        "or a new PaymentMethod to attempt to fulfill this PaymentIntent again.";
    fail_payment(pi, "", e, ctx);
  }
  // The challenge page returns the shopper to the return_url registered on
  // the intent (checked at create or confirm), never to one from its own
  // address: this private endpoint's answer adds it to the intent.
  auto body = pi_json(pi);
  if (pi.return_url && !body.empty() && body.back() == '}')
    body.insert(body.size() - 1, ",\"return_url\":" + net::json_quote(*pi.return_url));
  return {200, std::move(body)};
}

api_result store::capture_payment_intent(const std::string& id, const params& p,
                                         const request_context& ctx) {
  if (auto bad = p.first_unknown({"amount_to_capture", "expand"}))
    return unknown_param(*bad).render();
  if (auto bad = check_shapes(p, {"amount_to_capture"}, {})) return bad->render();
  auto it = intents_.find(id);
  if (it == intents_.end()) return no_such("payment_intent", id, "intent").render();
  auto& pi = it->second;
  expire_if_lapsed(pi, ctx);
  std::optional<api_error> err;
  auto requested = int_param(p, "amount_to_capture", err);
  if (err) return err->render();
  if (pi.status != pi_status::requires_capture) {
    auto e = invalid("This PaymentIntent could not be captured because it has a status of " +
                         std::string(to_string(pi.status)) +
                         ". Only a PaymentIntent with one of the following statuses may be "
                         "captured: requires_capture.",
                     "", "payment_intent_unexpected_state");
    e.payment_intent_json = pi_json(pi);
    return e.render();
  }
  auto amount = requested.value_or(pi.amount_capturable);
  if (amount < 1)
    return invalid("amount_to_capture must be at least 1.", "amount_to_capture", "amount_too_small")
        .render();
  if (amount > pi.amount_capturable)
    return invalid("The amount to capture (" + std::to_string(amount) +
                       ") is greater than the amount capturable (" +
                       std::to_string(pi.amount_capturable) + ").",
                   "amount_to_capture", "amount_too_large")
        .render();
  if (auto full = check_room(room_per_request)) return full->render();
  auto& ch = charges_.at(*pi.latest_charge);
  ch.captured = true;
  ch.amount_captured = amount;
  add_charge_balance_transaction(ch, amount);
  // The uncaptured remainder is released: it is no longer capturable.
  pi.amount_received = amount;
  pi.amount_capturable = 0;
  pi.status = pi_status::succeeded;
  emit("charge.captured", charge_json(ch), ctx);
  emit("payment_intent.succeeded", pi_json(pi), ctx);
  open_dispute(ch, ctx);
  return {200, pi_json(pi)};
}

api_result store::cancel_payment_intent(const std::string& id, const params& p,
                                        const request_context& ctx) {
  if (auto bad = p.first_unknown({"cancellation_reason", "expand"}))
    return unknown_param(*bad).render();
  auto it = intents_.find(id);
  if (it == intents_.end()) return no_such("payment_intent", id, "intent").render();
  auto& pi = it->second;
  expire_if_lapsed(pi, ctx);
  auto reason = p.get("cancellation_reason");
  if (reason && *reason != "duplicate" && *reason != "fraudulent" &&
      *reason != "requested_by_customer" && *reason != "abandoned")
    return invalid(
               "Invalid cancellation_reason: must be one of duplicate, fraudulent, "
               "requested_by_customer or abandoned",
               "cancellation_reason", "parameter_invalid_string")
        .render();
  switch (pi.status) {
    case pi_status::requires_payment_method:
    case pi_status::requires_confirmation:
    case pi_status::requires_action:
    case pi_status::requires_capture:
      break;
    case pi_status::processing:
    case pi_status::succeeded:
    case pi_status::canceled: {
      auto e = invalid("You cannot cancel this PaymentIntent because it has a status of " +
                           std::string(to_string(pi.status)) +
                           ". Only a PaymentIntent with one of the following statuses may be "
                           "canceled: requires_payment_method, requires_capture, "
                           "requires_confirmation, requires_action.",
                       "", "payment_intent_unexpected_state");
      e.payment_intent_json = pi_json(pi);
      return e.render();
    }
  }
  if (auto full = check_room(room_per_request)) return full->render();
  pi.status = pi_status::canceled;
  pi.canceled_at = now_s();
  pi.cancellation_reason = reason;
  pi.amount_capturable = 0;
  emit("payment_intent.canceled", pi_json(pi), ctx);
  return {200, pi_json(pi)};
}

// ---- automatic expiry -----------------------------------------------------------

std::optional<std::int64_t> store::capture_before(const payment_intent& pi) const {
  if (pi.status != pi_status::requires_capture || !pi.latest_charge) return std::nullopt;
  auto ch = charges_.find(*pi.latest_charge);
  if (ch == charges_.end()) return std::nullopt;
  return ch->second.created + uncaptured_validity_s;
}

bool store::expire_if_lapsed(payment_intent& pi, const request_context& ctx) {
  auto deadline = capture_before(pi);
  if (!deadline || now_s() < *deadline) return false;
  pi.status = pi_status::canceled;
  pi.canceled_at = now_s();
  pi.cancellation_reason = "automatic";
  pi.amount_capturable = 0;
  emit("payment_intent.canceled", pi_json(pi), ctx);
  return true;
}

std::size_t store::expire_lapsed(const request_context& ctx) {
  std::size_t n = 0;
  for (auto& [id, pi] : intents_)
    if (expire_if_lapsed(pi, ctx)) ++n;
  return n;
}

// ---- refunds, charges ---------------------------------------------------------

api_result store::create_refund(const params& p, const request_context& ctx) {
  if (auto bad =
          p.first_unknown({"payment_intent", "charge", "amount", "reason", "metadata", "expand"}))
    return unknown_param(*bad).render();
  if (auto bad = check_shapes(p, {"payment_intent", "charge", "amount", "reason"}, {"metadata"}))
    return bad->render();
  auto pi_id = p.get("payment_intent");
  auto ch_id = p.get("charge");
  if (!pi_id && !ch_id)
    return invalid(
               "One of the following params should be provided for this request: "
               "payment_intent or charge.",
               "payment_intent", "parameter_missing")
        .render();
  if (pi_id && ch_id)
    return invalid("You may only specify one of these parameters: charge, payment_intent.",
                   "charge")
        .render();
  std::optional<api_error> err;
  auto amount = int_param(p, "amount", err);
  if (err) return err->render();
  if (amount && *amount < 1)
    return invalid("Amount must be at least 1 minor unit.", "amount", "amount_too_small").render();
  auto reason = p.get("reason");
  if (reason && *reason != "duplicate" && *reason != "fraudulent" &&
      *reason != "requested_by_customer")
    return invalid(
               "Invalid reason: must be one of duplicate, fraudulent, or "
               "requested_by_customer",
               "reason", "parameter_invalid_string")
        .render();
  if (auto bad = check_metadata(p)) return bad->render();
  charge* ch = nullptr;
  if (pi_id) {
    auto it = intents_.find(*pi_id);
    if (it == intents_.end()) return no_such("payment_intent", *pi_id, "payment_intent").render();
    if (it->second.status != pi_status::succeeded || !it->second.latest_charge)
      return invalid("This PaymentIntent does not have a successful charge to refund.",
                     "payment_intent", "charge_not_refundable")
          .render();
    ch = &charges_.at(*it->second.latest_charge);
  } else {
    auto it = charges_.find(*ch_id);
    if (it == charges_.end()) return no_such("charge", *ch_id, "charge").render();
    ch = &it->second;
    if (!ch->captured)
      return invalid("Charge " + ch->id + " has not been captured and cannot be refunded.",
                     "charge", "charge_not_refundable")
          .render();
  }
  auto remaining = ch->amount_captured - ch->amount_refunded;
  if (remaining <= 0)
    return invalid("Charge " + ch->id + " has already been refunded.", "charge",
                   "charge_already_refunded")
        .render();
  auto cur = core::find_currency(ch->currency);
  auto value = amount.value_or(remaining);
  if (value > remaining)
    return invalid("Refund amount (" + core::format_amount(value, *cur) + " " + ch->currency +
                       ") is greater than unrefunded amount on charge (" +
                       core::format_amount(remaining, *cur) + " " + ch->currency + ")",
                   "amount", "amount_too_large")
        .render();
  if (auto full = check_room(room_per_request)) return full->render();
  refund r;
  r.id = core::make_id("re");
  r.amount = value;
  r.charge = ch->id;
  r.payment_intent = ch->payment_intent;
  r.currency = ch->currency;
  r.reason = reason;
  r.meta = read_metadata(p);
  r.created = now_s();
  balance_transaction bt;
  bt.id = core::make_id("txn");
  bt.type = "refund";
  bt.amount = -value;
  bt.fee = 0;
  bt.net = -value;
  bt.currency = ch->currency;
  bt.source = r.id;
  bt.description = "REFUND FOR PAYMENT (" + ch->payment_intent + ")";
  bt.created = r.created;
  bt.available_on = r.created;
  r.balance_transaction = bt.id;
  objects_ += 2;
  bt_order_.push_back(bt.id);
  balance_transactions_.emplace(bt.id, std::move(bt));
  ch->amount_refunded += value;
  ch->refunds.push_back(r.id);
  auto& stored = refunds_.emplace(r.id, std::move(r)).first->second;
  emit("refund.created", refund_json(stored), ctx);
  emit("charge.refunded", charge_json(*ch), ctx);
  // Card refunds settle at once; refund.updated carries the final status for
  // listeners that track refunds rather than charges.
  emit("refund.updated", refund_json(stored), ctx);
  return {200, refund_json(stored)};
}

api_result store::retrieve_refund(const std::string& id) const {
  auto it = refunds_.find(id);
  if (it == refunds_.end()) return no_such("refund", id, "id").render();
  return {200, refund_json(it->second)};
}

api_result store::retrieve_charge(const std::string& id) const {
  auto it = charges_.find(id);
  if (it == charges_.end()) return no_such("charge", id, "charge").render();
  return {200, charge_json(it->second)};
}

// ---- events, balance, payouts ---------------------------------------------------

api_result store::list_events(const params& p) const {
  if (auto bad = p.first_unknown({"limit", "starting_after", "ending_before", "type", "expand"}))
    return unknown_param(*bad).render();
  auto type = p.get("type");
  return list_page(
      event_order_, p, "/v1/events",
      [&](const std::string& id) {
        if (!type) return true;
        const auto& t = events_.at(id).type;
        // Stripe allows one trailing wildcard: "payment_intent.*".
        if (type->ends_with("*")) return t.starts_with(type->substr(0, type->size() - 1));
        return t == *type;
      },
      [&](const std::string& id) { return events_.at(id).json; });
}

api_result store::retrieve_event(const std::string& id) const {
  auto it = events_.find(id);
  if (it == events_.end()) return no_such("event", id, "id").render();
  return {200, it->second.json};
}

api_result store::list_balance_transactions(const params& p) const {
  if (auto bad = p.first_unknown({"limit", "starting_after", "ending_before", "payout", "type",
                                  "source", "currency", "created", "expand"}))
    return unknown_param(*bad).render();
  auto payout = p.get("payout");
  auto type = p.get("type");
  auto source = p.get("source");
  auto currency = p.get("currency");
  if (payout && payouts_.count(*payout) == 0) return no_such("payout", *payout, "payout").render();
  created_range created;
  if (auto bad = read_created(p, created)) return bad->render();
  // expand[]=data.source embeds the charge or refund, as Stripe does.
  bool expand_source = false;
  for (const auto& e : p.list("expand"))
    if (e == "data.source") expand_source = true;
  return list_page(
      bt_order_, p, "/v1/balance_transactions",
      [&](const std::string& id) {
        const auto& bt = balance_transactions_.at(id);
        return (!payout || bt.payout == *payout) && (!type || bt.type == *type) &&
               (!source || bt.source == *source) && (!currency || bt.currency == *currency) &&
               created.contains(bt.created);
      },
      [&](const std::string& id) {
        const auto& bt = balance_transactions_.at(id);
        auto json = bt_json(bt);
        if (!expand_source) return json;
        std::string object;
        if (auto ch = charges_.find(bt.source); ch != charges_.end())
          object = charge_json(ch->second);
        else if (auto re = refunds_.find(bt.source); re != refunds_.end())
          object = refund_json(re->second);
        else if (auto du = disputes_.find(bt.source); du != disputes_.end())
          object = dispute_json(du->second);
        if (object.empty()) return json;
        auto plain = "\"source\":\"" + bt.source + "\"";
        auto at = json.find(plain);
        if (at != std::string::npos) json.replace(at, plain.size(), "\"source\":" + object);
        return json;
      });
}

api_result store::retrieve_balance_transaction(const std::string& id) const {
  auto it = balance_transactions_.find(id);
  if (it == balance_transactions_.end()) return no_such("balance_transaction", id, "id").render();
  return {200, bt_json(it->second)};
}

api_result store::list_payouts(const params& p) const {
  if (auto bad = p.first_unknown(
          {"limit", "starting_after", "ending_before", "status", "created", "expand"}))
    return unknown_param(*bad).render();
  auto status = p.get("status");
  created_range created;
  if (auto bad = read_created(p, created)) return bad->render();
  return list_page(
      payout_order_, p, "/v1/payouts",
      [&](const std::string& id) {
        const auto& po = payouts_.at(id);
        return (!status || po.status == *status) && created.contains(po.created);
      },
      [&](const std::string& id) { return payout_json(payouts_.at(id)); });
}

api_result store::retrieve_payout(const std::string& id) const {
  auto it = payouts_.find(id);
  if (it == payouts_.end()) return no_such("payout", id, "payout").render();
  return {200, payout_json(it->second)};
}

api_result store::run_settlement(const request_context& ctx) {
  // Net per currency of everything not yet paid out, in creation order.
  std::map<std::string, std::int64_t> totals;
  for (const auto& id : bt_order_) {
    const auto& bt = balance_transactions_.at(id);
    if (bt.payout) continue;
    auto sum = core::checked_add(totals[bt.currency], bt.net);
    assert(sum);  // bounded by objects_max * amount_minor_max, far below int64
    totals[bt.currency] = *sum;
  }
  std::vector<std::string> created;
  for (const auto& [currency, net] : totals) {
    // A negative or zero balance waits for more charges, as Stripe carries it.
    if (net <= 0) continue;
    if (auto full = check_room(room_per_request)) return full->render();
    payout po;
    po.id = core::make_id("po");
    po.amount = net;
    po.currency = currency;
    po.created = now_s();
    po.arrival_date = po.created;
    po.status = "paid";
    ++objects_;
    for (const auto& id : bt_order_) {
      auto& bt = balance_transactions_.at(id);
      if (!bt.payout && bt.currency == currency) bt.payout = po.id;
    }
    payout_order_.push_back(po.id);
    auto& stored = payouts_.emplace(po.id, std::move(po)).first->second;
    emit("payout.created", payout_json(stored), ctx);
    emit("payout.paid", payout_json(stored), ctx);
    created.push_back(payout_json(stored));
  }
  return {200, json_list("/_sandbox/settlement/run", created, false)};
}

api_result store::delete_charge(const std::string& id) {
  auto it = charges_.find(id);
  if (it == charges_.end()) return no_such("charge", id, "charge").render();
  std::size_t removed = 1;
  if (it->second.balance_transaction) {
    const auto& bt_id = *it->second.balance_transaction;
    if (balance_transactions_.erase(bt_id) != 0) {
      bt_order_.erase(std::remove(bt_order_.begin(), bt_order_.end(), bt_id), bt_order_.end());
      ++removed;
    }
  }
  charges_.erase(it);
  objects_ -= removed;
  net::json_writer w;
  w.begin_object();
  w.field("id", id);
  w.field("object", "charge");
  w.field("deleted", true);
  w.end_object();
  return {200, w.take()};
}

api_result store::fail_refund(const std::string& id, const request_context& ctx) {
  auto it = refunds_.find(id);
  if (it == refunds_.end()) return no_such("refund", id, "refund").render();
  auto& r = it->second;
  if (r.status != "succeeded")
    return invalid("Refund " + id + " is " + r.status + "; only a succeeded refund can fail.",
                   "refund")
        .render();
  auto ch = charges_.find(r.charge);
  if (ch == charges_.end()) return no_such("charge", r.charge, "charge").render();
  if (auto full = check_room(room_per_request)) return full->render();
  balance_transaction bt;
  bt.id = core::make_id("txn");
  bt.type = "refund_failure";
  bt.amount = r.amount;
  bt.fee = 0;
  bt.net = r.amount;
  bt.currency = r.currency;
  bt.source = r.id;
  bt.description = "REFUND FAILURE (" + r.payment_intent + ")";
  bt.created = now_s();
  bt.available_on = bt.created;
  r.status = "failed";
  r.failure_reason = "expired_or_canceled_card";
  r.failure_balance_transaction = bt.id;
  ch->second.amount_refunded -= r.amount;
  ++objects_;
  bt_order_.push_back(bt.id);
  balance_transactions_.emplace(bt.id, std::move(bt));
  emit("refund.failed", refund_json(r), ctx);
  emit("charge.refund.updated", refund_json(r), ctx);
  return {200, refund_json(r)};
}

api_result store::fail_payout(const std::string& id, const request_context& ctx) {
  auto it = payouts_.find(id);
  if (it == payouts_.end()) return no_such("payout", id, "payout").render();
  auto& po = it->second;
  if (po.status != "paid" && po.status != "in_transit")
    return invalid("Payout " + id + " is " + po.status + "; only a paid payout can fail.", "payout")
        .render();
  if (auto full = check_room(room_per_request)) return full->render();
  balance_transaction bt;
  bt.id = core::make_id("txn");
  bt.type = "payout_failure";
  bt.amount = po.amount;
  bt.fee = 0;
  bt.net = po.amount;
  bt.currency = po.currency;
  bt.source = po.id;
  bt.description = "PAYOUT FAILURE (" + po.id + ")";
  bt.created = now_s();
  bt.available_on = bt.created;
  po.status = "failed";
  po.failure_code = "account_closed";
  po.failure_balance_transaction = bt.id;
  ++objects_;
  bt_order_.push_back(bt.id);
  balance_transactions_.emplace(bt.id, std::move(bt));
  emit("payout.failed", payout_json(po), ctx);
  return {200, payout_json(po)};
}

api_result store::alter_balance_transaction(const std::string& id, const params& p) {
  if (auto bad = p.first_unknown({"amount", "fee"})) return unknown_param(*bad).render();
  auto it = balance_transactions_.find(id);
  if (it == balance_transactions_.end()) return no_such("balance_transaction", id, "id").render();
  std::optional<api_error> err;
  auto amount = int_param(p, "amount", err);
  if (err) return err->render();
  auto fee = int_param(p, "fee", err);
  if (err) return err->render();
  auto& bt = it->second;
  auto next_amount = amount.value_or(bt.amount);
  auto next_fee = fee.value_or(bt.fee);
  auto net = core::checked_sub(next_amount, next_fee);
  if (!net || std::abs(next_amount) > core::limits::amount_minor_max ||
      std::abs(next_fee) > core::limits::amount_minor_max)
    return invalid("amount and fee must be within 99999999 in magnitude.", "amount",
                   "amount_too_large")
        .render();
  bt.amount = next_amount;
  bt.fee = next_fee;
  bt.net = *net;
  return {200, bt_json(bt)};
}

std::string store::counts_json() const {
  net::json_writer w;
  w.begin_object();
  w.field("objects", static_cast<std::uint64_t>(objects_));
  w.field("objects_max", static_cast<std::uint64_t>(objects_max_));
  w.field("payment_intents", static_cast<std::uint64_t>(intents_.size()));
  w.field("payment_methods", static_cast<std::uint64_t>(payment_methods_.size()));
  w.field("charges", static_cast<std::uint64_t>(charges_.size()));
  w.field("refunds", static_cast<std::uint64_t>(refunds_.size()));
  w.field("events", static_cast<std::uint64_t>(events_.size()));
  w.field("balance_transactions", static_cast<std::uint64_t>(balance_transactions_.size()));
  w.field("payouts", static_cast<std::uint64_t>(payouts_.size()));
  w.end_object();
  return w.take();
}

// ---- disputes ----------------------------------------------------------------

std::string store::add_dispute_balance_transaction(dispute& d, std::int64_t amount,
                                                   std::int64_t fee, std::string_view category) {
  balance_transaction bt;
  bt.id = core::make_id("txn");
  bt.type = "adjustment";
  bt.category = std::string(category);
  bt.amount = amount;
  bt.fee = fee;
  bt.net = amount - fee;
  bt.currency = d.currency;
  bt.source = d.id;
  bt.description = category == "dispute" ? "Chargeback withdrawal for " + d.charge
                                         : "Chargeback reversal for " + d.charge;
  bt.created = now_s();
  bt.available_on = bt.created;
  ++objects_;
  d.balance_transactions.push_back(bt.id);
  bt_order_.push_back(bt.id);
  auto id = bt.id;
  balance_transactions_.emplace(id, std::move(bt));
  return id;
}

void store::open_dispute(charge& ch, const request_context& ctx) {
  auto pm = payment_methods_.find(ch.payment_method);
  if (pm == payment_methods_.end() || !pm->second.disputes || ch.dispute) return;
  dispute d;
  d.id = core::make_id("du");
  d.charge = ch.id;
  d.payment_intent = ch.payment_intent;
  d.amount = ch.amount_captured;
  d.currency = ch.currency;
  d.created = now_s();
  d.due_by = d.created + dispute_response_window_s;
  ++objects_;
  // As Stripe: the disputed amount and the dispute fee leave the balance at once.
  add_dispute_balance_transaction(d, -d.amount, fees_.dispute_minor, "dispute");
  ch.dispute = d.id;
  dispute_order_.push_back(d.id);
  auto& stored = disputes_.emplace(d.id, std::move(d)).first->second;
  emit("charge.dispute.created", dispute_json(stored), ctx);
  emit("charge.dispute.funds_withdrawn", dispute_json(stored), ctx);
}

std::string store::dispute_json(const dispute& d) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", d.id);
  w.field("object", "dispute");
  w.field("amount", d.amount);
  w.key("balance_transactions");
  w.begin_array();
  for (const auto& id : d.balance_transactions) w.raw(bt_json(balance_transactions_.at(id)));
  w.end_array();
  w.field("charge", d.charge);
  w.field("created", d.created);
  w.field("currency", d.currency);
  w.key("evidence");
  w.begin_object();
  for (const auto& [k, v] : d.evidence) w.field(k, v);
  w.end_object();
  w.key("evidence_details");
  w.begin_object();
  w.field("due_by", d.due_by);
  w.field("has_evidence", !d.evidence.empty());
  w.field("past_due", false);
  w.field("submission_count", d.submission_count);
  w.end_object();
  w.field("is_charge_refundable", false);
  w.field("livemode", false);
  w.key("metadata");
  w.begin_object();
  w.end_object();
  w.field("payment_intent", d.payment_intent);
  w.field("reason", d.reason);
  w.field("status", d.status);
  w.end_object();
  return w.take();
}

api_result store::list_disputes(const params& p) const {
  if (auto bad = p.first_unknown({"limit", "starting_after", "ending_before", "charge",
                                  "payment_intent", "created", "expand"}))
    return unknown_param(*bad).render();
  auto charge_id = p.get("charge");
  auto intent = p.get("payment_intent");
  created_range created;
  if (auto bad = read_created(p, created)) return bad->render();
  return list_page(
      dispute_order_, p, "/v1/disputes",
      [&](const std::string& id) {
        const auto& d = disputes_.at(id);
        return (!charge_id || d.charge == *charge_id) && (!intent || d.payment_intent == *intent) &&
               created.contains(d.created);
      },
      [&](const std::string& id) { return dispute_json(disputes_.at(id)); });
}

api_result store::retrieve_dispute(const std::string& id) const {
  auto it = disputes_.find(id);
  if (it == disputes_.end()) return no_such("dispute", id, "dispute").render();
  return {200, dispute_json(it->second)};
}

api_result store::update_dispute(const std::string& id, const params& p,
                                 const request_context& ctx) {
  auto it = disputes_.find(id);
  if (it == disputes_.end()) return no_such("dispute", id, "dispute").render();
  for (const auto& name : p.top_level_names())
    if (name != "evidence" && name != "submit" && name != "metadata" && name != "expand")
      return unknown_param(name).render();
  auto& d = it->second;
  if (d.status != "needs_response" && d.status != "warning_needs_response")
    return invalid("This dispute is " + d.status +
                       "; evidence can be updated only while it needs a response.",
                   "", "dispute_already_submitted")
        .render();
  if (now_s() >= d.due_by)
    return invalid("The due date for submitting evidence for this dispute has passed.", "evidence",
                   "dispute_past_due")
        .render();
  auto submit = p.get("submit");
  if (submit && *submit != "true" && *submit != "false")
    return invalid("Invalid boolean: " + *submit, "submit").render();
  for (auto [k, v] : p.nested("evidence")) {
    if (k.find(']') != std::string::npos)
      return invalid("evidence[" + k + "] is not a text field.", "evidence").render();
    auto at = std::find_if(d.evidence.begin(), d.evidence.end(),
                           [&](const auto& e) { return e.first == k; });
    if (at != d.evidence.end())
      at->second = std::move(v);
    else
      d.evidence.emplace_back(std::move(k), std::move(v));
  }
  if (submit && *submit == "true") {
    d.status = d.status == "warning_needs_response" ? "warning_under_review" : "under_review";
    ++d.submission_count;
  }
  emit("charge.dispute.updated", dispute_json(d), ctx);
  return {200, dispute_json(d)};
}

api_result store::close_dispute(const std::string& id, const params& p,
                                const request_context& ctx) {
  auto it = disputes_.find(id);
  if (it == disputes_.end()) return no_such("dispute", id, "dispute").render();
  if (auto bad = p.first_unknown({"outcome"})) return unknown_param(*bad).render();
  auto outcome = p.get("outcome");
  if (!outcome || (*outcome != "won" && *outcome != "lost"))
    return invalid("outcome must be \"won\" or \"lost\".", "outcome").render();
  auto& d = it->second;
  if (d.status == "won" || d.status == "lost")
    return invalid("This dispute is already closed (" + d.status + ").", "", "dispute_closed")
        .render();
  if (auto full = check_room(room_per_request)) return full->render();
  d.status = *outcome;
  if (*outcome == "won") {
    // The amount comes back; Stripe keeps the dispute fee.
    add_dispute_balance_transaction(d, d.amount, 0, "dispute_reversal");
    emit("charge.dispute.funds_reinstated", dispute_json(d), ctx);
  }
  emit("charge.dispute.closed", dispute_json(d), ctx);
  return {200, dispute_json(d)};
}

}  // namespace pay::sandbox
