#include "sandbox/paypal/service.hpp"

#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"
#include "net/form.hpp"
#include "net/json.hpp"
#include "sandbox/adyen/util.hpp"
#include "sandbox/log.hpp"
#include "sandbox/paypal/pages.hpp"

namespace pay::sandbox::paypal {

// ---------------------------------------------------------------- the model

struct service::order {
  std::string id;
  std::string intent;  ///< CAPTURE, AUTHORIZE
  std::string status;  ///< CREATED, PAYER_ACTION_REQUIRED, APPROVED, COMPLETED, VOIDED
  std::string currency;
  std::int64_t value = 0;
  std::string reference_id = "default";
  std::string custom_id;
  std::string invoice_id;
  std::string description;
  std::string return_url;
  std::string cancel_url;
  bool payer_action = false;  ///< created with payment_source.paypal.experience_context
  std::string funding;        ///< balance, deny_capture, pending_capture (once approved)
  std::vector<std::string> authorizations;
  std::vector<std::string> captures;
  std::vector<std::string> refunds;
  std::int64_t created = 0;
  std::int64_t updated = 0;
};

struct service::authorization {
  std::string id;
  std::string order_id;
  std::string status;  ///< CREATED, PARTIALLY_CAPTURED, CAPTURED, VOIDED
  std::string currency;
  std::int64_t value = 0;
  std::int64_t captured = 0;
  std::string custom_id;
  std::string invoice_id;
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t expires = 0;
};

struct service::capture {
  std::string id;
  std::string order_id;
  std::string authorization_id;  ///< empty for an order captured at once
  std::string status;            ///< COMPLETED, PENDING, DECLINED, PARTIALLY_REFUNDED, REFUNDED
  std::string pending_reason;
  std::string currency;
  std::int64_t value = 0;
  std::int64_t fee = 0;
  std::int64_t refunded = 0;
  bool final_capture = true;
  std::string custom_id;
  std::string invoice_id;
  std::int64_t created = 0;
  std::int64_t updated = 0;
};

struct service::refund {
  std::string id;
  std::string capture_id;
  std::string order_id;
  std::string status = "COMPLETED";
  std::string currency;
  std::int64_t value = 0;
  std::string custom_id;
  std::string invoice_id;
  std::string note_to_payer;
  std::int64_t created = 0;
  std::int64_t updated = 0;
};

/// One row of Transaction Search: what moved on the merchant's balance.
struct service::transaction {
  std::string id;
  std::string reference_id;  ///< the order id (captures, refunds)
  std::string event_code;    ///< T0006 capture, T1107 refund, T0400 withdrawal
  std::int64_t at = 0;
  std::string currency;
  std::int64_t amount = 0;  ///< signed minor units, + money in
  std::int64_t fee = 0;     ///< signed minor units, - fee charged
  std::string custom;
  std::string invoice;
};

struct service::result {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<net::header> headers;
};

namespace {

using result = service::result;

// ---------------------------------------------------------------- limits

/// PayPal-Request-Ids kept at most (the oldest finished ones go first).
constexpr std::size_t idempotency_keys_max = 100'000;
/// PayPal's limit on a PayPal-Request-Id (Orders v2).
constexpr std::size_t request_id_length_max = 108;
/// Recorded requests kept for GET /paypal/_sandbox/requests.
constexpr std::size_t recorded_max = 2'000;
/// PayPal's limits on custom_id and invoice_id (purchase unit, 127).
constexpr std::size_t custom_id_length_max = 127;
/// PayPal's limit on a URL in experience_context.
constexpr std::size_t url_length_max = 2'048;
/// An authorization is valid 29 days. (PayPal's 3-day honor period is not
/// modelled: sandbox time does not pass, so every capture is inside it.)
constexpr std::int64_t authorization_validity_s = 29 * 86'400;
/// Transaction Search: at most 31 days per query, at most 500 rows a page.
constexpr std::int64_t search_range_s_max = 31 * 86'400;
constexpr std::int64_t search_page_size_max = 500;
/// The fixed sandbox buyer every approval logs in as.
constexpr const char* buyer_payer_id = "SBXBUYER7Q2LM";
constexpr const char* buyer_email = "sb-buyer@personal.example.com";
constexpr const char* merchant_id = "SBXMERCHANT4Q";
constexpr const char* merchant_email = "sb-merchant@business.example.com";

std::int64_t now_s() {
  return adyen::now_s();
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------- errors

std::string name_of(int status) {
  switch (status) {
    case 400:
      return "INVALID_REQUEST";
    case 401:
      return "AUTHENTICATION_FAILURE";
    case 403:
      return "NOT_AUTHORIZED";
    case 404:
      return "RESOURCE_NOT_FOUND";
    case 409:
      return "RESOURCE_CONFLICT";
    case 415:
      return "UNSUPPORTED_MEDIA_TYPE";
    case 422:
      return "UNPROCESSABLE_ENTITY";
    case 503:
      return "SERVICE_UNAVAILABLE";
    default:
      return "INTERNAL_SERVER_ERROR";
  }
}

std::string message_of(int status) {
  switch (status) {
    case 400:
      return "Request is not well-formed, syntactically incorrect, or violates schema.";
    case 401:
      return "Authentication failed due to invalid authentication credentials or a missing "
             "Authorization header.";
    case 403:
      return "Authorization failed due to insufficient permissions.";
    case 404:
      return "The specified resource does not exist.";
    case 409:
      return "The server has detected a conflict while processing this request.";
    case 415:
      return "The server does not support the request payload's media type.";
    case 422:
      return "The requested action could not be performed, semantically incorrect, or failed "
             "business validation.";
    case 503:
      return "Service Unavailable.";
    default:
      return "An internal server error has occurred.";
  }
}

/// PayPal's error body: name, message, debug_id, details[], links[].
result error(int status, const std::string& issue, const std::string& description,
             const std::string& field = {}, const std::string& value = {},
             const std::string& location = "body") {
  net::json_writer w;
  w.begin_object();
  w.field("name", name_of(status));
  w.field("message", message_of(status));
  w.field("debug_id", new_id(13));
  w.key("details");
  w.begin_array();
  w.begin_object();
  if (!field.empty()) w.field("field", field);
  if (!value.empty()) w.field("value", value);
  if (!field.empty() || !value.empty()) w.field("location", location);
  w.field("issue", issue);
  w.field("description", description);
  w.end_object();
  w.end_array();
  w.key("links");
  w.begin_array();
  w.begin_object();
  w.field("href", "https://developer.paypal.com/docs/api/orders/v2/#error-" + issue);
  w.field("rel", "information_link");
  w.field("method", "GET");
  w.end_object();
  w.end_array();
  w.end_object();
  return result{status, w.take(), "application/json", {}};
}

result not_found(const std::string& what, const std::string& id) {
  return error(404, "INVALID_RESOURCE_ID",
               "Specified resource ID does not exist. Please check the resource ID and try "
               "again.",
               what, id, "path");
}

struct issue_text {
  const char* method;
  const char* path;
  const char* issue;
  const char* description;
};

/// PayPal's own description of each issue per operation, generated from
/// the OpenAPI subset (sandbox/paypal/make_issue_table.py).
constexpr issue_text issue_texts[] = {
#include "sandbox/paypal/issues.inc"
};

/// The OpenAPI path template of an API path ("v2", "checkout", "orders",
/// id, "capture" -> "/v2/checkout/orders/{id}/capture"); empty if none.
std::string path_template(const std::vector<std::string>& p) {
  auto n = p.size();
  if (n >= 3 && p[0] == "v2" && p[1] == "checkout" && p[2] == "orders") {
    if (n == 3) return "/v2/checkout/orders";
    if (n == 4) return "/v2/checkout/orders/{id}";
    if (n == 5) return "/v2/checkout/orders/{id}/" + p[4];
  }
  if (n >= 4 && n <= 5 && p[0] == "v2" && p[1] == "payments") {
    std::string name = p[2] == "authorizations" ? "{authorization_id}"
                       : p[2] == "captures"     ? "{capture_id}"
                       : p[2] == "refunds"      ? "{refund_id}"
                                                : "";
    if (name.empty()) return {};
    auto out = "/v2/payments/" + p[2] + "/" + name;
    return n == 5 ? out + "/" + p[4] : out;
  }
  return {};
}

/// Puts PayPal's documented description into an error answer of the
/// operation at `parts`, when the document fixes one for its issue.
void conform_description(const std::string& method, const std::vector<std::string>& parts,
                         service::result& r) {
  if (r.status < 400 || r.body.empty()) return;
  auto tmpl = path_template(parts);
  if (tmpl.empty()) return;
  rapidjson::Document doc;
  if (doc.Parse(r.body.c_str()).HasParseError() || !doc.IsObject()) return;
  auto details = doc.FindMember("details");
  if (details == doc.MemberEnd() || !details->value.IsArray()) return;
  bool changed = false;
  for (auto& d : details->value.GetArray()) {
    if (!d.IsObject() || !d.HasMember("issue") || !d["issue"].IsString() ||
        !d.HasMember("description"))
      continue;
    std::string_view issue = d["issue"].GetString();
    for (const auto& t : issue_texts) {
      if (method != t.method || tmpl != t.path || issue != t.issue) continue;
      d["description"].SetString(t.description, doc.GetAllocator());
      changed = true;
      break;
    }
  }
  if (!changed) return;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  r.body.assign(buffer.GetString(), buffer.GetSize());
}

/// The HTTP status PayPal's negative testing answers for a mocked issue.
int mock_status(const std::string& issue) {
  static const char* const bad_request[] = {"MISSING_REQUIRED_PARAMETER", "INVALID_PARAMETER_VALUE",
                                            "INVALID_PARAMETER_SYNTAX",   "MALFORMED_REQUEST_JSON",
                                            "PAYPAL_REQUEST_ID_REQUIRED", "INVALID_STRING_LENGTH",
                                            "INVALID_STRING_MAX_LENGTH"};
  for (auto* i : bad_request)
    if (issue == i) return 400;
  if (issue == "INVALID_ACCOUNT_STATUS") return 401;
  if (issue == "PERMISSION_DENIED" || issue == "CONSENT_NEEDED" || issue == "NOT_AUTHORIZED")
    return 403;
  if (issue == "INVALID_RESOURCE_ID") return 404;
  if (issue == "RESOURCE_CONFLICT" || issue == "PREVIOUS_REQUEST_IN_PROGRESS") return 409;
  if (issue == "INTERNAL_SERVER_ERROR" || issue == "INTERNAL_SERVICE_ERROR") return 500;
  if (issue == "SERVICE_UNAVAILABLE") return 503;
  return 422;
}

// ---------------------------------------------------------------- JSON helpers

std::string get_string(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string{};
}

void write_money(net::json_writer& w, const char* key, std::int64_t minor,
                 const std::string& currency) {
  w.key(key);
  w.begin_object();
  w.field("currency_code", currency);
  w.field("value", format_amount(minor, currency));
  w.end_object();
}

void write_link(net::json_writer& w, const std::string& href, const char* rel, const char* method) {
  w.begin_object();
  w.field("href", href);
  w.field("rel", rel);
  w.field("method", method);
  w.end_object();
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    auto next = path.find('/', pos);
    auto part = path.substr(pos, next == std::string_view::npos ? path.size() - pos : next - pos);
    out.push_back(net::percent_decode(part).value_or(std::string(part)));
    pos = next == std::string_view::npos ? path.size() : next;
  }
  return out;
}

/// Checks an amount object {currency_code, value} and returns its minor
/// units; `e` is set on a refusal.
std::optional<std::int64_t> read_money(const rapidjson::Value& v, const std::string& field,
                                       std::string& currency, std::optional<result>& e) {
  if (!v.IsObject()) {
    e = error(400, "INVALID_PARAMETER_SYNTAX",
              "The value of a field does not conform to the "
              "expected format.",
              field);
    return std::nullopt;
  }
  auto cc = v.FindMember("currency_code");
  auto value = v.FindMember("value");
  if (cc == v.MemberEnd() || !cc->value.IsString()) {
    e = error(400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.",
              field + "/currency_code");
    return std::nullopt;
  }
  if (value == v.MemberEnd() || !value->value.IsString()) {
    e = error(400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.",
              field + "/value");
    return std::nullopt;
  }
  currency = cc->value.GetString();
  std::string text = value->value.GetString();
  amount_issue issue = amount_issue::none;
  auto minor = parse_amount(text, currency, issue);
  switch (issue) {
    case amount_issue::none:
      break;
    case amount_issue::invalid_syntax:
      e = error(400, "INVALID_PARAMETER_SYNTAX",
                "The value of a field does not conform to the expected format.", field + "/value",
                text);
      return std::nullopt;
    case amount_issue::decimal_precision:
      e = error(422, "DECIMAL_PRECISION",
                "If the currency supports decimals, only two decimal place precision is "
                "supported.",
                field + "/value", text);
      return std::nullopt;
    case amount_issue::decimals_not_supported:
      e = error(422, "DECIMALS_NOT_SUPPORTED", "Currency does not support decimals.",
                field + "/value", text);
      return std::nullopt;
    case amount_issue::currency_not_supported:
      e = error(422, "CURRENCY_NOT_SUPPORTED", "Currency code is not currently supported.",
                field + "/currency_code", currency);
      return std::nullopt;
    case amount_issue::amount_too_large:
      e = error(422, "MAX_VALUE_EXCEEDED",
                "The amount is above the psp-sandbox's limit of " +
                    format_amount(amount_minor_max, currency) + ".",
                field + "/value", text);
      return std::nullopt;
  }
  if (*minor <= 0) {
    e = error(422, "CANNOT_BE_ZERO_OR_NEGATIVE", "The amount must be greater than zero.",
              field + "/value", text);
    return std::nullopt;
  }
  return minor;
}

/// The raw text of the top-level member `name` of a JSON object, byte for
/// byte as sent (PayPal verifies the event as received, not re-serialised).
struct raw_member_finder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, raw_member_finder> {
  const rapidjson::StringStream* stream = nullptr;
  std::string name;
  int depth = 0;
  bool next_is_target = false;
  int target_depth = -1;
  std::size_t begin = 0;
  std::size_t end = 0;

  bool Default() {
    if (next_is_target) next_is_target = false;  // a scalar: not an object
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth == 1 && std::string_view(s, n) == name) next_is_target = true;
    return true;
  }
  bool StartObject() {
    ++depth;
    if (next_is_target) {
      next_is_target = false;
      target_depth = depth;
      begin = stream->Tell() - 1;
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    if (depth == target_depth) {
      end = stream->Tell();
      target_depth = -1;
    }
    --depth;
    return true;
  }
  bool StartArray() {
    next_is_target = false;
    ++depth;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth;
    return true;
  }
};

std::string raw_member(const std::string& json, const std::string& name) {
  rapidjson::StringStream stream(json.c_str());
  raw_member_finder finder;
  finder.stream = &stream;
  finder.name = name;
  rapidjson::Reader reader;
  if (reader.Parse(stream, finder).IsError() || finder.end <= finder.begin) return {};
  return json.substr(finder.begin, finder.end - finder.begin);
}

}  // namespace

// ---------------------------------------------------------------- service

service::service(const sandbox_options& options, timer_queue& timers, fault_hooks faults)
    : options_(options),
      timers_(timers),
      faults_(std::move(faults)),
      notifier_(timers,
                webhook_policy{options.webhook_timeout_ms,
                               core::backoff_policy{
                                   options.webhook_backoff_base_ms, options.webhook_backoff_max_ms,
                                   options.webhook_attempts_max, core::limits::retry_deadline_ms},
                               1'000},
                options.seed.value_or(0), faults_.delivery, key_, options.paypal_webhook_id,
                "CERT-360caa42-fca2a594-" + new_id(8)) {
  notifier_.set_url(options_.paypal_webhook_url);
  set_base_url("http://" + options_.listen + ":" + std::to_string(options_.port));
  schedule_settlement();
}

void service::schedule_settlement() {
  if (options_.settlement_interval_s <= 0) return;
  timers_.post_after(options_.settlement_interval_s * 1'000, [this] {
    {
      std::lock_guard guard{mutex_};
      if (stopped_) return;
    }
    settle();
    schedule_settlement();
  });
}

service::~service() {
  stop();
}

void service::stop() {
  {
    std::lock_guard guard{mutex_};
    if (stopped_) return;
    stopped_ = true;
  }
  notifier_.stop();
}

void service::set_base_url(std::string base) {
  {
    std::lock_guard guard{mutex_};
    base_url_ = base;
  }
  notifier_.set_base_url(std::move(base));
}

bool service::room() const {
  auto n = orders_.size() + authorizations_.size() + captures_.size() + refunds_.size() +
           transactions_.size() + tokens_.size();
  return n < options_.objects_max;
}

std::string service::counts_json() {
  std::lock_guard guard{mutex_};
  net::json_writer w;
  w.begin_object();
  w.field("orders", static_cast<std::uint64_t>(orders_.size()));
  w.field("authorizations", static_cast<std::uint64_t>(authorizations_.size()));
  w.field("captures", static_cast<std::uint64_t>(captures_.size()));
  w.field("refunds", static_cast<std::uint64_t>(refunds_.size()));
  w.field("transactions", static_cast<std::uint64_t>(transactions_.size()));
  w.field("webhook_url", notifier_.url());
  w.field("webhook_id", notifier_.webhook_id());
  w.end_object();
  return w.take();
}

void service::emit(const std::string& type, const std::string& resource_type,
                   const std::string& summary, std::string resource) {
  outbox_.push_back(outgoing_event{type, resource_type, summary, std::move(resource)});
}

void service::flush_events() {
  std::vector<outgoing_event> events;
  {
    std::lock_guard guard{mutex_};
    events.swap(outbox_);
  }
  for (const auto& e : events) notifier_.notify(e.type, e.resource_type, e.summary, e.resource);
}

// ---------------------------------------------------------------- JSON of objects

std::string service::authorization_json(const authorization& a) const {
  auto base = base_url_ + "/paypal/v2/payments/authorizations/" + a.id;
  net::json_writer w;
  w.begin_object();
  w.field("id", a.id);
  w.field("status", a.status);
  write_money(w, "amount", a.value, a.currency);
  if (!a.invoice_id.empty()) w.field("invoice_id", a.invoice_id);
  if (!a.custom_id.empty()) w.field("custom_id", a.custom_id);
  w.key("seller_protection");
  w.begin_object();
  w.field("status", "ELIGIBLE");
  w.key("dispute_categories");
  w.begin_array();
  w.value("ITEM_NOT_RECEIVED");
  w.value("UNAUTHORIZED_TRANSACTION");
  w.end_array();
  w.end_object();
  w.field("expiration_time", rfc3339(a.expires));
  w.key("supplementary_data");
  w.begin_object();
  w.key("related_ids");
  w.begin_object();
  w.field("order_id", a.order_id);
  w.end_object();
  w.end_object();
  w.key("links");
  w.begin_array();
  write_link(w, base, "self", "GET");
  if (a.status == "CREATED" || a.status == "PARTIALLY_CAPTURED") {
    write_link(w, base + "/capture", "capture", "POST");
    write_link(w, base + "/void", "void", "POST");
  }
  write_link(w, base_url_ + "/paypal/v2/checkout/orders/" + a.order_id, "up", "GET");
  w.end_array();
  w.field("create_time", rfc3339(a.created));
  w.field("update_time", rfc3339(a.updated));
  w.end_object();
  return w.take();
}

std::string service::capture_json(const capture& c) const {
  auto base = base_url_ + "/paypal/v2/payments/captures/" + c.id;
  net::json_writer w;
  w.begin_object();
  w.field("id", c.id);
  w.field("status", c.status);
  if (c.status == "PENDING") {
    w.key("status_details");
    w.begin_object();
    w.field("reason", c.pending_reason);
    w.end_object();
  }
  write_money(w, "amount", c.value, c.currency);
  w.field("final_capture", c.final_capture);
  w.field("disbursement_mode", "INSTANT");
  if (!c.invoice_id.empty()) w.field("invoice_id", c.invoice_id);
  if (!c.custom_id.empty()) w.field("custom_id", c.custom_id);
  w.key("seller_protection");
  w.begin_object();
  w.field("status", "ELIGIBLE");
  w.key("dispute_categories");
  w.begin_array();
  w.value("ITEM_NOT_RECEIVED");
  w.value("UNAUTHORIZED_TRANSACTION");
  w.end_array();
  w.end_object();
  if (c.status != "DECLINED") {
    w.key("seller_receivable_breakdown");
    w.begin_object();
    write_money(w, "gross_amount", c.value, c.currency);
    write_money(w, "paypal_fee", c.fee, c.currency);
    write_money(w, "net_amount", c.value - c.fee, c.currency);
    w.end_object();
  }
  w.key("supplementary_data");
  w.begin_object();
  w.key("related_ids");
  w.begin_object();
  w.field("order_id", c.order_id);
  if (!c.authorization_id.empty()) w.field("authorization_id", c.authorization_id);
  w.end_object();
  w.end_object();
  w.key("links");
  w.begin_array();
  write_link(w, base, "self", "GET");
  if (c.status == "COMPLETED" || c.status == "PARTIALLY_REFUNDED")
    write_link(w, base + "/refund", "refund", "POST");
  if (!c.authorization_id.empty())
    write_link(w, base_url_ + "/paypal/v2/payments/authorizations/" + c.authorization_id, "up",
               "GET");
  else
    write_link(w, base_url_ + "/paypal/v2/checkout/orders/" + c.order_id, "up", "GET");
  w.end_array();
  w.field("create_time", rfc3339(c.created));
  w.field("update_time", rfc3339(c.updated));
  w.end_object();
  return w.take();
}

std::string service::refund_json(const refund& r) const {
  net::json_writer w;
  w.begin_object();
  w.field("id", r.id);
  w.field("status", r.status);
  write_money(w, "amount", r.value, r.currency);
  if (!r.invoice_id.empty()) w.field("invoice_id", r.invoice_id);
  if (!r.custom_id.empty()) w.field("custom_id", r.custom_id);
  if (!r.note_to_payer.empty()) w.field("note_to_payer", r.note_to_payer);
  std::int64_t total_refunded = 0;
  if (auto c = captures_.find(r.capture_id); c != captures_.end())
    total_refunded = c->second->refunded;
  w.key("seller_payable_breakdown");
  w.begin_object();
  write_money(w, "gross_amount", r.value, r.currency);
  // The sandbox keeps PayPal's fee on a refund (see docs/sandbox.md).
  write_money(w, "paypal_fee", 0, r.currency);
  write_money(w, "net_amount", r.value, r.currency);
  write_money(w, "total_refunded_amount", total_refunded, r.currency);
  w.end_object();
  w.key("supplementary_data");
  w.begin_object();
  w.key("related_ids");
  w.begin_object();
  w.field("order_id", r.order_id);
  w.field("capture_id", r.capture_id);
  w.end_object();
  w.end_object();
  w.key("links");
  w.begin_array();
  write_link(w, base_url_ + "/paypal/v2/payments/refunds/" + r.id, "self", "GET");
  write_link(w, base_url_ + "/paypal/v2/payments/captures/" + r.capture_id, "up", "GET");
  w.end_array();
  w.field("create_time", rfc3339(r.created));
  w.field("update_time", rfc3339(r.updated));
  w.end_object();
  return w.take();
}

std::string service::order_json(const order& o, bool full) const {
  auto base = base_url_ + "/paypal/v2/checkout/orders/" + o.id;
  bool approved = !o.funding.empty();
  net::json_writer w;
  w.begin_object();
  w.field("id", o.id);
  if (full) w.field("intent", o.intent);
  w.field("status", o.status);
  if (approved && full) {
    w.key("payment_source");
    w.begin_object();
    w.key("paypal");
    w.begin_object();
    w.field("email_address", buyer_email);
    w.field("account_id", buyer_payer_id);
    w.field("account_status", "VERIFIED");
    w.key("name");
    w.begin_object();
    w.field("given_name", "Sandbox");
    w.field("surname", "Buyer");
    w.end_object();
    w.end_object();
    w.end_object();
  }
  bool has_payments = !o.authorizations.empty() || !o.captures.empty();
  if (full || has_payments) {
    w.key("purchase_units");
    w.begin_array();
    w.begin_object();
    w.field("reference_id", o.reference_id);
    if (full) {
      write_money(w, "amount", o.value, o.currency);
      w.key("payee");
      w.begin_object();
      w.field("email_address", merchant_email);
      w.field("merchant_id", merchant_id);
      w.end_object();
      if (!o.description.empty()) w.field("description", o.description);
      if (!o.custom_id.empty()) w.field("custom_id", o.custom_id);
      if (!o.invoice_id.empty()) w.field("invoice_id", o.invoice_id);
    }
    if (has_payments) {
      w.key("payments");
      w.begin_object();
      if (!o.authorizations.empty()) {
        w.key("authorizations");
        w.begin_array();
        for (const auto& id : o.authorizations) w.raw(authorization_json(*authorizations_.at(id)));
        w.end_array();
      }
      if (!o.captures.empty()) {
        w.key("captures");
        w.begin_array();
        for (const auto& id : o.captures) w.raw(capture_json(*captures_.at(id)));
        w.end_array();
      }
      if (!o.refunds.empty()) {
        w.key("refunds");
        w.begin_array();
        for (const auto& id : o.refunds) w.raw(refund_json(*refunds_.at(id)));
        w.end_array();
      }
      w.end_object();
    }
    w.end_object();
    w.end_array();
  }
  if (approved && full) {
    w.key("payer");
    w.begin_object();
    w.key("name");
    w.begin_object();
    w.field("given_name", "Sandbox");
    w.field("surname", "Buyer");
    w.end_object();
    w.field("email_address", buyer_email);
    w.field("payer_id", buyer_payer_id);
    w.end_object();
  }
  if (full) {
    w.field("create_time", rfc3339(o.created));
    w.field("update_time", rfc3339(o.updated));
  }
  w.key("links");
  w.begin_array();
  write_link(w, base, "self", "GET");
  if (o.status == "CREATED" || o.status == "PAYER_ACTION_REQUIRED")
    write_link(w, base_url_ + "/paypal/checkoutnow?token=" + o.id,
               o.payer_action ? "payer-action" : "approve", "GET");
  if (o.status != "COMPLETED" && o.status != "VOIDED") {
    if (o.intent == "CAPTURE")
      write_link(w, base + "/capture", "capture", "POST");
    else
      write_link(w, base + "/authorize", "authorize", "POST");
  }
  w.end_array();
  w.end_object();
  return w.take();
}

// ---------------------------------------------------------------- requests

void service::handle(const net::http_request& req, const send_fn& send) {
  if (auto host = req.header_value("Host"); host && !host->empty() && host->size() < 256) {
    std::string base = "http://" + std::string(*host);
    bool changed = false;
    {
      std::lock_guard guard{mutex_};
      changed = base != base_url_;
    }
    if (changed) set_base_url(base);
  }
  const auto& path = req.path;
  if (path == "/paypal/checkoutnow") return page(req, send);
  auto parts = split_path(path);  // "paypal", ...
  auto to_http = [](result r) {
    net::http_response res;
    res.status = r.status;
    res.content_type = r.content_type;
    res.body = std::move(r.body);
    res.headers = std::move(r.headers);
    return res;
  };
  if (req.method == "GET" && parts.size() == 5 && parts[1] == "v1" && parts[2] == "notifications" &&
      parts[3] == "certs") {
    if (parts[4] != notifier_.cert_id()) return send(to_http(not_found("cert_id", parts[4])), 0);
    net::http_response res;
    res.content_type = "application/x-x509-ca-cert";
    res.body = key_.certificate_pem();
    return send(std::move(res), 0);
  }
  if (req.method == "POST" && path == "/paypal/v1/oauth2/token") return token(req, send);
  if (parts.size() >= 3 && parts[1] == "_sandbox") {
    result r = control(req, parts);
    flush_events();
    return send(to_http(std::move(r)), 0);
  }
  if (parts.size() >= 2 && (parts[1] == "v1" || parts[1] == "v2")) return api(req, send);
  send(to_http(error(404, "INVALID_RESOURCE_ID", "No such path in the PayPal mode: " + path, "path",
                     path, "path")),
       0);
}

void service::record(const net::http_request& req) {
  net::json_writer w;
  w.begin_object();
  w.field("method", req.method);
  w.field("path", req.path);
  w.field("query", req.query);
  w.key("headers");
  w.begin_object();
  for (const auto& [name, value] : req.headers) {
    // Credentials and tokens never leave the process.
    if (net::iequals(name, "Authorization")) continue;
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    w.field(lower, value);
  }
  w.end_object();
  w.field("body", req.path == "/paypal/v1/oauth2/token" ? std::string{} : req.body);
  w.end_object();
  auto line = w.take();
  std::lock_guard guard{record_mutex_};
  recorded_.push_back(line);
  while (recorded_.size() > recorded_max) recorded_.pop_front();
  if (!options_.record_requests.empty()) {
    std::ofstream out(options_.record_requests, std::ios::app);
    out << line << '\n';
    if (!out) log_line("warn", "cannot record a request", {{"path", options_.record_requests}});
  }
}

void service::token(const net::http_request& req, const send_fn& send) {
  record(req);
  auto answer = [&](int status, std::string body) {
    net::http_response res;
    res.status = status;
    res.body = std::move(body);
    res.headers.emplace_back("paypal-debug-id", new_id(13));
    send(std::move(res), 0);
  };
  auto fault = faults_.api ? faults_.api() : api_fault{};
  if (fault.error) {
    auto e = error(fault.status_503 ? 503 : 500,
                   fault.status_503 ? "SERVICE_UNAVAILABLE" : "INTERNAL_SERVER_ERROR",
                   "Injected by the psp-sandbox error fault.");
    return answer(e.status, e.body);
  }
  std::string id;
  std::string secret;
  if (auto auth = req.header_value("Authorization"); auth && auth->starts_with("Basic ")) {
    auto decoded = adyen::base64_decode(auth->substr(6)).value_or("");
    if (auto colon = decoded.find(':'); colon != std::string::npos) {
      id = decoded.substr(0, colon);
      secret = decoded.substr(colon + 1);
    }
  }
  if (id.empty() || !core::constant_time_equal(id, options_.paypal_client_id) ||
      !core::constant_time_equal(secret, options_.paypal_client_secret))
    return answer(401,
                  "{\"error\":\"invalid_client\",\"error_description\":\"Client "
                  "Authentication failed\"}");
  auto form = net::parse_form(req.body);
  std::string grant;
  if (form)
    for (const auto& [k, v] : *form)
      if (k == "grant_type") grant = v;
  if (grant.empty())
    return answer(400,
                  "{\"error\":\"unsupported_grant_type\",\"error_description\":\"Grant Type is "
                  "NULL\"}");
  if (grant != "client_credentials") {
    net::json_writer e;
    e.begin_object();
    e.field("error", "unsupported_grant_type");
    e.field("error_description", "Grant Type is not supported: " + grant);
    e.end_object();
    return answer(400, e.take());
  }
  std::string access_token;
  std::int64_t left_s = 0;
  {
    std::lock_guard guard{mutex_};
    auto now = steady_ms();
    std::erase_if(tokens_, [now](const auto& kv) { return kv.second <= now; });
    auto current = tokens_.find(current_token_);
    if (current != tokens_.end() && current->second - now > 1'000) {
      // Asked again while valid: the same token, with less time left.
      access_token = current_token_;
      left_s = (current->second - now) / 1'000;
    } else {
      access_token = "A21AA" + core::random_token(80);
      left_s = options_.paypal_token_ttl_s;
      tokens_[access_token] = now + left_s * 1'000;
      current_token_ = access_token;
    }
  }
  net::json_writer w;
  w.begin_object();
  w.field("scope",
          "https://uri.paypal.com/services/payments/futurepayments "
          "https://uri.paypal.com/services/reporting/search/read "
          "https://uri.paypal.com/services/payments/refund "
          "https://uri.paypal.com/services/applications/webhooks "
          "https://uri.paypal.com/services/payments/payment/authcapture "
          "https://uri.paypal.com/services/payments/orders/client_sdk_orders_api");
  w.field("access_token", access_token);
  w.field("token_type", "Bearer");
  w.field("app_id", "APP-80W284485P519543T");
  w.field("expires_in", left_s);
  w.field("nonce", rfc3339(now_s()) + core::random_token(43));
  w.end_object();
  answer(200, w.take());
}

void service::api(const net::http_request& req, const send_fn& send) {
  record(req);
  auto finish = [send](result r, std::int64_t delay_ms) {
    net::http_response res;
    res.status = r.status;
    res.content_type = r.status == 204 ? std::string{} : r.content_type;
    res.body = std::move(r.body);
    res.headers = std::move(r.headers);
    res.headers.emplace_back("paypal-debug-id", new_id(13));
    send(std::move(res), delay_ms);
  };
  // ---- the bearer token ----
  auto auth = req.header_value("Authorization");
  if (!auth || !auth->starts_with("Bearer "))
    return finish(
        error(401, "INVALID_ACCOUNT_STATUS", "No bearer token: call POST /v1/oauth2/token first.",
              "Authorization", "", "header"),
        0);
  {
    std::string bearer(auth->substr(7));
    std::lock_guard guard{mutex_};
    auto it = tokens_.find(bearer);
    if (it == tokens_.end() || it->second <= steady_ms()) {
      bool expired = it != tokens_.end();
      return finish(result{401,
                           expired ? "{\"error\":\"invalid_token\",\"error_description\":\"Access "
                                     "Token expired\"}"
                                   : "{\"error\":\"invalid_token\",\"error_description\":\"Token "
                                     "signature verification failed\"}",
                           "application/json",
                           {}},
                    0);
    }
  }
  auto parts = split_path(req.path);  // paypal, v1|v2, ...
  parts.erase(parts.begin());

  // ---- faults, then negative testing, before anything is processed ----
  auto fault = faults_.api ? faults_.api() : api_fault{};
  if (fault.error)
    return finish(error(fault.status_503 ? 503 : 500,
                        fault.status_503 ? "SERVICE_UNAVAILABLE" : "INTERNAL_SERVER_ERROR",
                        "Injected by the psp-sandbox error fault."),
                  0);
  if (auto mock = req.header_value("PayPal-Mock-Response")) {
    rapidjson::Document m;
    std::string code;
    if (net::parse_json_object(*mock, m) == net::json_error::none)
      code = get_string(m, "mock_application_codes");
    if (code.empty())
      return finish(error(400, "INVALID_PARAMETER_VALUE",
                          "PayPal-Mock-Response must be {\"mock_application_codes\":\"ISSUE\"}.",
                          "PayPal-Mock-Response", std::string(*mock), "header"),
                    0);
    auto mocked =
        error(mock_status(code), code,
              "Negative testing: the PayPal-Mock-Response header asked for " + code + ".");
    conform_description(req.method, parts, mocked);
    return finish(std::move(mocked), 0);
  }

  rapidjson::Document doc;
  doc.SetObject();
  if (req.method == "POST") {
    auto first = req.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos) {
      auto ct = req.header_value("Content-Type").value_or("");
      if (ct.find("application/json") == std::string_view::npos)
        return finish(
            error(415, "UNSUPPORTED_MEDIA_TYPE", "The request body must be application/json.",
                  "Content-Type", std::string(ct), "header"),
            0);
      if (auto e = net::parse_json_object(req.body, doc); e != net::json_error::none)
        return finish(
            error(400, "MALFORMED_REQUEST_JSON",
                  "The request JSON is not well formed: " + std::string(net::describe(e)) + "."),
            0);
    }
  }
  bool full = false;
  if (auto prefer = req.header_value("Prefer"))
    full = prefer->find("return=representation") != std::string_view::npos;

  // ---- PayPal-Request-Id: the first answer is kept; a replay of the same
  // request answers it again (201 becomes 200); the same id with another
  // body is refused (one operation per id). Ids are scoped to the path, as
  // PayPal keeps them per API call: an order's create and its capture may
  // carry the same id without meeting ----
  std::string request_id;
  if (auto given = req.header_value("PayPal-Request-Id"); given && req.method == "POST") {
    if (given->empty() || given->size() > request_id_length_max)
      return finish(
          error(400, "INVALID_STRING_LENGTH", "PayPal-Request-Id must be 1 to 108 characters long.",
                "PayPal-Request-Id", "", "header"),
          0);
    request_id = req.path + "\n" + std::string(*given);
    auto fingerprint =
        core::sha256_hex(req.method + " " + req.path + "\n" + net::canonical_json(doc));
    std::lock_guard guard{mutex_};
    auto it = idempotency_.find(request_id);
    if (it != idempotency_.end()) {
      if (it->second.in_flight)
        return finish(error(409, "PREVIOUS_REQUEST_IN_PROGRESS",
                            "A previous request with this PayPal-Request-Id is still in "
                            "progress; retry later."),
                      0);
      if (it->second.fingerprint != fingerprint)
        return finish(error(422, "PAYPAL_REQUEST_ID_PREVIOUSLY_USED",
                            "The PayPal-Request-Id has already been used for another request.",
                            "PayPal-Request-Id", std::string(*given), "header"),
                      0);
      int status = it->second.status == 201 ? 200 : it->second.status;
      return finish(result{status, it->second.body, "application/json", {}}, 0);
    }
    idempotency_.emplace(request_id, idempotency_entry{fingerprint, true, 0, {}});
    idempotency_order_.push_back(request_id);
    while (idempotency_order_.size() > idempotency_keys_max) {
      auto oldest = idempotency_.find(idempotency_order_.front());
      if (oldest != idempotency_.end() && oldest->second.in_flight) break;
      if (oldest != idempotency_.end()) idempotency_.erase(oldest);
      idempotency_order_.pop_front();
    }
  }

  auto work = [this, finish, parts, req_copy = req, request_id,
               doc = std::make_shared<rapidjson::Document>(std::move(doc)), full,
               hold_ms = fault.hold_ms]() {
    result r;
    {
      std::lock_guard guard{mutex_};
      r = dispatch(req_copy.method, parts, req_copy, *doc, full);
      conform_description(req_copy.method, parts, r);
      if (!request_id.empty()) {
        auto it = idempotency_.find(request_id);
        if (it != idempotency_.end()) {
          if (r.status >= 500) {
            idempotency_.erase(it);  // a server error is not a result
          } else {
            it->second.in_flight = false;
            it->second.status = r.status;
            it->second.body = r.body;
          }
        }
      }
    }
    flush_events();
    finish(std::move(r), hold_ms);
  };
  if (fault.latency_ms > 0)
    timers_.post_after(fault.latency_ms, std::move(work), true);
  else
    work();
}

service::result service::dispatch(const std::string& method, const std::vector<std::string>& p,
                                  const net::http_request& req, const rapidjson::Value& body,
                                  bool full) {
  auto n = p.size();
  // p[0] is "v1" or "v2".
  if (n >= 3 && p[0] == "v2" && p[1] == "checkout" && p[2] == "orders") {
    if (n == 3 && method == "POST")
      return create_order(body, req.header_value("PayPal-Request-Id").has_value(), full);
    if (n >= 4) {
      auto it = orders_.find(p[3]);
      if (it == orders_.end()) return not_found("order_id", p[3]);
      auto& o = *it->second;
      if (n == 4 && method == "GET")
        return result{200, order_json(o, true), "application/json", {}};
      if (n == 5 && method == "POST" && p[4] == "capture") return order_capture(o, full);
      if (n == 5 && method == "POST" && p[4] == "authorize") return order_authorize(o, full);
    }
  }
  if (n >= 4 && p[0] == "v2" && p[1] == "payments") {
    if (p[2] == "authorizations") {
      auto it = authorizations_.find(p[3]);
      if (it == authorizations_.end()) return not_found("authorization_id", p[3]);
      auto& a = *it->second;
      if (n == 4 && method == "GET")
        return result{200, authorization_json(a), "application/json", {}};
      if (n == 5 && method == "POST" && p[4] == "capture")
        return authorization_capture(a, body, full);
      if (n == 5 && method == "POST" && p[4] == "void") return authorization_void(a, full);
    }
    if (p[2] == "captures") {
      auto it = captures_.find(p[3]);
      if (it == captures_.end()) return not_found("capture_id", p[3]);
      if (n == 4 && method == "GET")
        return result{200, capture_json(*it->second), "application/json", {}};
      if (n == 5 && method == "POST" && p[4] == "refund")
        return capture_refund(*it->second, body, full);
    }
    if (p[2] == "refunds" && n == 4 && method == "GET") {
      auto it = refunds_.find(p[3]);
      if (it == refunds_.end()) return not_found("refund_id", p[3]);
      return result{200, refund_json(*it->second), "application/json", {}};
    }
  }
  if (n == 3 && p[0] == "v1" && p[1] == "notifications" && p[2] == "verify-webhook-signature" &&
      method == "POST")
    return verify_signature(req, body);
  if (n == 4 && p[0] == "v1" && p[1] == "notifications" && p[2] == "webhooks-events" &&
      method == "GET") {
    auto json = notifier_.event_json(p[3]);
    if (json.empty()) return not_found("event_id", p[3]);
    return result{200, json, "application/json", {}};
  }
  if (n == 3 && p[0] == "v1" && p[1] == "reporting" && p[2] == "transactions" && method == "GET")
    return search(req);
  return error(404, "INVALID_RESOURCE_ID",
               "No operation " + method + " " + req.path + " in the PayPal mode.", "path", req.path,
               "path");
}

// ---------------------------------------------------------------- orders

service::result service::create_order(const rapidjson::Value& body, bool has_request_id,
                                      bool full) {
  auto bad = [](const std::string& field, const std::string& description,
                const std::string& issue = "INVALID_PARAMETER_VALUE") {
    return error(400, issue, description, field);
  };
  auto intent = body.FindMember("intent");
  if (intent == body.MemberEnd())
    return bad("/intent", "A required field / parameter is missing.", "MISSING_REQUIRED_PARAMETER");
  if (!intent->value.IsString() || (std::string(intent->value.GetString()) != "CAPTURE" &&
                                    std::string(intent->value.GetString()) != "AUTHORIZE"))
    return bad("/intent", "intent must be CAPTURE or AUTHORIZE.");
  auto units = body.FindMember("purchase_units");
  if (units == body.MemberEnd())
    return bad("/purchase_units", "A required field / parameter is missing.",
               "MISSING_REQUIRED_PARAMETER");
  if (!units->value.IsArray() || units->value.Empty())
    return bad("/purchase_units", "purchase_units must be a non-empty array.");
  if (units->value.Size() > 1)
    return error(422, "INVALID_ARRAY_MAX_ITEMS",
                 "The psp-sandbox takes one purchase unit per order.", "/purchase_units");
  const auto& unit = units->value[0];
  if (!unit.IsObject()) return bad("/purchase_units/@reference_id=='default'", "Not an object.");
  auto amount = unit.FindMember("amount");
  if (amount == unit.MemberEnd())
    return bad("/purchase_units/@reference_id=='default'/amount",
               "A required field / parameter is missing.", "MISSING_REQUIRED_PARAMETER");
  std::string currency;
  std::optional<result> e;
  auto value =
      read_money(amount->value, "/purchase_units/@reference_id=='default'/amount", currency, e);
  if (!value) return *e;
  for (const char* name : {"custom_id", "invoice_id", "reference_id", "description"}) {
    auto m = unit.FindMember(name);
    if (m == unit.MemberEnd()) continue;
    if (!m->value.IsString() || m->value.GetStringLength() > custom_id_length_max ||
        (std::string_view(name) == "reference_id" && m->value.GetStringLength() == 0))
      return error(400, "INVALID_STRING_LENGTH",
                   std::string(name) + " must be a string of at most 127 characters.",
                   "/purchase_units/@reference_id=='default'/" + std::string(name));
  }
  auto o = std::make_unique<order>();
  o->intent = intent->value.GetString();
  o->currency = currency;
  o->value = *value;
  o->custom_id = get_string(unit, "custom_id");
  o->invoice_id = get_string(unit, "invoice_id");
  o->description = get_string(unit, "description");
  if (auto r = get_string(unit, "reference_id"); !r.empty()) o->reference_id = r;

  auto read_urls = [&](const rapidjson::Value& ctx,
                       const std::string& at) -> std::optional<result> {
    if (!ctx.IsObject()) return bad(at, "Must be an object.");
    for (const char* name : {"return_url", "cancel_url"}) {
      auto m = ctx.FindMember(name);
      if (m == ctx.MemberEnd()) continue;
      if (!m->value.IsString() || m->value.GetStringLength() > url_length_max ||
          !net::parse_url(m->value.GetString()))
        return bad(at + "/" + name, "Must be an http(s) URL.");
    }
    auto ua = ctx.FindMember("user_action");
    if (ua != ctx.MemberEnd() &&
        (!ua->value.IsString() || (std::string(ua->value.GetString()) != "CONTINUE" &&
                                   std::string(ua->value.GetString()) != "PAY_NOW")))
      return bad(at + "/user_action", "user_action must be CONTINUE or PAY_NOW.");
    o->return_url = get_string(ctx, "return_url");
    o->cancel_url = get_string(ctx, "cancel_url");
    return std::nullopt;
  };
  if (auto source = body.FindMember("payment_source"); source != body.MemberEnd()) {
    if (!source->value.IsObject()) return bad("/payment_source", "Must be an object.");
    if (!has_request_id)
      return error(400, "PAYPAL_REQUEST_ID_REQUIRED",
                   "A PayPal-Request-Id is required if you are trying to process payment for "
                   "an Order.",
                   "PayPal-Request-Id", "", "header");
    for (auto& m : source->value.GetObject())
      if (std::string(m.name.GetString()) != "paypal")
        return error(422, "PAYMENT_SOURCE_NOT_SUPPORTED",
                     "The psp-sandbox takes payment_source.paypal only.",
                     "/payment_source/" + std::string(m.name.GetString()));
    if (auto pp = source->value.FindMember("paypal"); pp != source->value.MemberEnd()) {
      if (!pp->value.IsObject()) return bad("/payment_source/paypal", "Must be an object.");
      if (auto ctx = pp->value.FindMember("experience_context"); ctx != pp->value.MemberEnd()) {
        if (auto err = read_urls(ctx->value, "/payment_source/paypal/experience_context"))
          return *err;
        o->payer_action = true;
      }
    }
  } else if (auto ctx = body.FindMember("application_context"); ctx != body.MemberEnd()) {
    // The older way: URLs for the redirect, but the order stays CREATED.
    if (auto err = read_urls(ctx->value, "/application_context")) return *err;
  }
  if (!room())
    return error(422, "SANDBOX_FULL",
                 "The psp-sandbox holds its maximum of " + std::to_string(options_.objects_max) +
                     " objects; restart it or raise --objects-max.");
  o->id = new_id(17);
  o->status = o->payer_action ? "PAYER_ACTION_REQUIRED" : "CREATED";
  o->created = o->updated = now_s();
  auto& stored = *o;
  orders_.emplace(o->id, std::move(o));
  return result{201, order_json(stored, full), "application/json", {}};
}

service::result service::approve(order& o, const std::string& funding) {
  if (funding != "balance" && funding != "deny_capture" && funding != "pending_capture")
    return error(400, "INVALID_PARAMETER_VALUE",
                 "funding must be balance, deny_capture or pending_capture.", "funding", funding);
  if (o.status == "COMPLETED" || o.status == "VOIDED")
    return error(422, "ORDER_COMPLETED_OR_VOIDED", "The order is " + o.status + ".");
  bool first = o.status != "APPROVED";
  o.funding = funding;
  o.status = "APPROVED";
  o.updated = now_s();
  if (first)
    emit("CHECKOUT.ORDER.APPROVED", "checkout-order", "An order has been approved by buyer",
         order_json(o, true));
  return result{200, order_json(o, true), "application/json", {}};
}

service::capture& service::new_capture(order& o, authorization* a, std::int64_t value,
                                       bool final_capture, const std::string& invoice_id) {
  auto c = std::make_unique<capture>();
  c->id = new_id(17);
  c->order_id = o.id;
  c->authorization_id = a != nullptr ? a->id : std::string{};
  c->currency = o.currency;
  c->value = value;
  c->final_capture = final_capture;
  c->custom_id = o.custom_id;
  c->invoice_id = invoice_id.empty() ? o.invoice_id : invoice_id;
  c->created = c->updated = now_s();
  if (o.funding == "deny_capture") {
    c->status = "DECLINED";
  } else if (o.funding == "pending_capture") {
    c->status = "PENDING";
    c->pending_reason = "PENDING_REVIEW";
    c->fee = fee_minor(value, o.currency);
  } else {
    c->status = "COMPLETED";
    c->fee = fee_minor(value, o.currency);
  }
  auto& stored = *c;
  o.captures.push_back(c->id);
  captures_.emplace(c->id, std::move(c));
  auto summary = "Payment " + stored.status + " for " + stored.currency + " " +
                 format_amount(stored.value, stored.currency);
  if (stored.status == "COMPLETED") {
    add_transaction(stored.id, o.id, "T0006", stored.currency, stored.value, -stored.fee,
                    o.custom_id, stored.invoice_id);
    emit("PAYMENT.CAPTURE.COMPLETED", "capture", summary, capture_json(stored));
  } else if (stored.status == "PENDING") {
    emit("PAYMENT.CAPTURE.PENDING", "capture", summary, capture_json(stored));
    timers_.post_after(options_.paypal_pending_ms, [this, id = stored.id] {
      {
        std::lock_guard guard{mutex_};
        if (stopped_) return;
        complete_pending(id);
      }
      flush_events();
    });
  } else {
    // An order captured at once is DECLINED at once; a capture of an
    // authorization is refused later at PayPal, which it announces as DENIED.
    emit(a != nullptr ? "PAYMENT.CAPTURE.DENIED" : "PAYMENT.CAPTURE.DECLINED", "capture", summary,
         capture_json(stored));
  }
  return stored;
}

void service::complete_pending(const std::string& capture_id) {
  auto it = captures_.find(capture_id);
  if (it == captures_.end() || it->second->status != "PENDING") return;
  auto& c = *it->second;
  c.status = "COMPLETED";
  c.pending_reason.clear();
  c.updated = now_s();
  std::string custom;
  if (auto o = orders_.find(c.order_id); o != orders_.end()) custom = o->second->custom_id;
  add_transaction(c.id, c.order_id, "T0006", c.currency, c.value, -c.fee, custom, c.invoice_id);
  emit("PAYMENT.CAPTURE.COMPLETED", "capture",
       "Payment completed for " + c.currency + " " + format_amount(c.value, c.currency),
       capture_json(c));
}

service::result service::order_capture(order& o, bool full) {
  if (o.intent != "CAPTURE")
    return error(422, "ACTION_DOES_NOT_MATCH_INTENT",
                 "Order was created with an intent to 'AUTHORIZE'. Please use "
                 "v2/checkout/orders/order_id/authorize to complete the transaction.");
  if (o.status == "COMPLETED")
    return error(422, "ORDER_ALREADY_CAPTURED", "Order already captured.");
  if (o.status != "APPROVED")
    return error(422, "ORDER_NOT_APPROVED",
                 "Payer has not yet approved the Order for payment. Please redirect the payer "
                 "to the 'rel':'approve' url returned as part of the HATEOAS links within the "
                 "Create Order call.");
  if (!room()) return error(422, "SANDBOX_FULL", "The psp-sandbox holds its maximum of objects.");
  new_capture(o, nullptr, o.value, true, {});
  o.status = "COMPLETED";
  o.updated = now_s();
  return result{201, order_json(o, full), "application/json", {}};
}

service::result service::order_authorize(order& o, bool full) {
  if (o.intent != "AUTHORIZE")
    return error(422, "ACTION_DOES_NOT_MATCH_INTENT",
                 "Order was created with an intent to 'CAPTURE'. Please use "
                 "v2/checkout/orders/order_id/capture to complete the transaction.");
  if (o.status == "COMPLETED")
    return error(422, "ORDER_ALREADY_AUTHORIZED", "Order already authorized.");
  if (o.status != "APPROVED")
    return error(422, "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.");
  if (!room()) return error(422, "SANDBOX_FULL", "The psp-sandbox holds its maximum of objects.");
  auto a = std::make_unique<authorization>();
  a->id = new_id(17);
  a->order_id = o.id;
  a->status = "CREATED";
  a->currency = o.currency;
  a->value = o.value;
  a->custom_id = o.custom_id;
  a->invoice_id = o.invoice_id;
  a->created = a->updated = now_s();
  a->expires = a->created + authorization_validity_s;
  auto& stored = *a;
  o.authorizations.push_back(a->id);
  authorizations_.emplace(a->id, std::move(a));
  o.status = "COMPLETED";
  o.updated = now_s();
  emit("PAYMENT.AUTHORIZATION.CREATED", "authorization",
       "A payment authorization was created for " + stored.currency + " " +
           format_amount(stored.value, stored.currency),
       authorization_json(stored));
  return result{201, order_json(o, full), "application/json", {}};
}

// ---------------------------------------------------------------- authorizations

service::result service::authorization_capture(authorization& a, const rapidjson::Value& body,
                                               bool full) {
  if (a.status == "VOIDED")
    return error(422, "AUTHORIZATION_VOIDED",
                 "A voided authorization cannot be captured or reauthorized.");
  if (a.status == "CAPTURED")
    return error(422, "AUTHORIZATION_ALREADY_CAPTURED",
                 "Authorization has been previously captured and hence cannot be captured "
                 "again.");
  if (now_s() > a.expires)
    return error(422, "AUTHORIZATION_EXPIRED", "An expired authorization cannot be captured.");
  auto remaining = a.value - a.captured;
  auto value = remaining;
  if (auto amount = body.FindMember("amount"); amount != body.MemberEnd()) {
    std::string currency;
    std::optional<result> e;
    auto v = read_money(amount->value, "/amount", currency, e);
    if (!v) return *e;
    if (currency != a.currency)
      return error(422, "AUTH_CAPTURE_CURRENCY_MISMATCH",
                   "Currency of capture must be the same as currency of authorization.",
                   "/amount/currency_code", currency);
    if (*v > remaining)
      return error(422, "MAX_CAPTURE_AMOUNT_EXCEEDED",
                   "Capture amount exceeds allowable limit. Please contact customer service or "
                   "your account manager to change the maximum amount.",
                   "/amount/value", format_amount(*v, currency));
    value = *v;
  }
  bool final_capture = false;
  if (auto f = body.FindMember("final_capture"); f != body.MemberEnd()) {
    if (!f->value.IsBool())
      return error(400, "INVALID_PARAMETER_SYNTAX", "final_capture must be a boolean.",
                   "/final_capture");
    final_capture = f->value.GetBool();
  }
  for (const char* name : {"invoice_id", "note_to_payer", "soft_descriptor"}) {
    auto m = body.FindMember(name);
    if (m != body.MemberEnd() && (!m->value.IsString() || m->value.GetStringLength() > 127))
      return error(400, "INVALID_STRING_LENGTH",
                   std::string(name) + " must be a string of at most 127 characters.",
                   "/" + std::string(name));
  }
  if (!room()) return error(422, "SANDBOX_FULL", "The psp-sandbox holds its maximum of objects.");
  auto& o = *orders_.at(a.order_id);
  auto& c = new_capture(o, &a, value, final_capture || value == remaining,
                        get_string(body, "invoice_id"));
  if (c.status != "DECLINED") {
    a.captured += value;
    a.status = final_capture || a.captured == a.value ? "CAPTURED" : "PARTIALLY_CAPTURED";
    a.updated = now_s();
  }
  if (!full) {
    net::json_writer w;
    w.begin_object();
    w.field("id", c.id);
    w.field("status", c.status);
    w.key("links");
    w.begin_array();
    write_link(w, base_url_ + "/paypal/v2/payments/captures/" + c.id, "self", "GET");
    write_link(w, base_url_ + "/paypal/v2/payments/captures/" + c.id + "/refund", "refund", "POST");
    write_link(w, base_url_ + "/paypal/v2/payments/authorizations/" + a.id, "up", "GET");
    w.end_array();
    w.end_object();
    return result{201, w.take(), "application/json", {}};
  }
  return result{201, capture_json(c), "application/json", {}};
}

service::result service::authorization_void(authorization& a, bool full) {
  if (a.status == "CAPTURED")
    return error(422, "PREVIOUSLY_CAPTURED",
                 "Authorization has been previously captured and hence cannot be voided.");
  if (a.status == "VOIDED")
    return error(422, "PREVIOUSLY_VOIDED",
                 "Authorization has been previously voided and hence cannot be voided again.");
  if (a.status != "CREATED" && a.status != "PARTIALLY_CAPTURED")
    return error(422, "CANNOT_BE_VOIDED",
                 "An authorization in status " + a.status + " cannot be voided.");
  a.status = "VOIDED";
  a.updated = now_s();
  auto json = authorization_json(a);
  emit("PAYMENT.AUTHORIZATION.VOIDED", "authorization", "A payment authorization was voided", json);
  if (!full) return result{204, {}, "application/json", {}};
  return result{200, json, "application/json", {}};
}

// ---------------------------------------------------------------- refunds

service::result service::capture_refund(capture& c, const rapidjson::Value& body, bool full) {
  if (c.status == "PENDING")
    return error(422, "PENDING_CAPTURE",
                 "Cannot initiate a refund as the capture is pending. Capture is typically "
                 "pending when the payer has funded the transaction by using an e-check or "
                 "bank account.");
  if (c.status == "REFUNDED")
    return error(422, "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.");
  if (c.status != "COMPLETED" && c.status != "PARTIALLY_REFUNDED")
    return error(422, "REFUND_NOT_ALLOWED",
                 "A capture in status " + c.status + " cannot be refunded.");
  auto remaining = c.value - c.refunded;
  auto value = remaining;
  if (auto amount = body.FindMember("amount"); amount != body.MemberEnd()) {
    std::string currency;
    std::optional<result> e;
    auto v = read_money(amount->value, "/amount", currency, e);
    if (!v) return *e;
    if (currency != c.currency)
      return error(422, "REFUND_CAPTURE_CURRENCY_MISMATCH",
                   "Refund must be in the same currency as the capture.", "/amount/currency_code",
                   currency);
    if (*v > remaining)
      return error(422, "REFUND_AMOUNT_EXCEEDED",
                   "The refund amount must be less than or equal to the capture amount that "
                   "has not yet been refunded.",
                   "/amount/value", format_amount(*v, currency));
    value = *v;
  }
  for (const char* name : {"invoice_id", "custom_id", "note_to_payer"}) {
    auto m = body.FindMember(name);
    if (m != body.MemberEnd() && (!m->value.IsString() || m->value.GetStringLength() > 255))
      return error(400, "INVALID_STRING_LENGTH",
                   std::string(name) + " must be a string of at most 255 characters.",
                   "/" + std::string(name));
  }
  if (!room()) return error(422, "SANDBOX_FULL", "The psp-sandbox holds its maximum of objects.");
  auto& o = *orders_.at(c.order_id);
  auto r = std::make_unique<refund>();
  r->id = new_id(17);
  r->capture_id = c.id;
  r->order_id = c.order_id;
  r->currency = c.currency;
  r->value = value;
  r->custom_id = get_string(body, "custom_id");
  if (r->custom_id.empty()) r->custom_id = o.custom_id;
  r->invoice_id = get_string(body, "invoice_id");
  r->note_to_payer = get_string(body, "note_to_payer");
  r->created = r->updated = now_s();
  c.refunded += value;
  c.status = c.refunded == c.value ? "REFUNDED" : "PARTIALLY_REFUNDED";
  c.updated = now_s();
  auto& stored = *r;
  o.refunds.push_back(r->id);
  refunds_.emplace(r->id, std::move(r));
  add_transaction(stored.id, o.id, "T1107", stored.currency, -stored.value, 0, o.custom_id,
                  stored.invoice_id);
  auto json = refund_json(stored);
  emit("PAYMENT.CAPTURE.REFUNDED", "refund",
       "A " + stored.currency + " " + format_amount(stored.value, stored.currency) +
           " capture payment was refunded",
       json);
  if (!full) {
    net::json_writer w;
    w.begin_object();
    w.field("id", stored.id);
    w.field("status", stored.status);
    w.key("links");
    w.begin_array();
    write_link(w, base_url_ + "/paypal/v2/payments/refunds/" + stored.id, "self", "GET");
    write_link(w, base_url_ + "/paypal/v2/payments/captures/" + c.id, "up", "GET");
    w.end_array();
    w.end_object();
    return result{201, w.take(), "application/json", {}};
  }
  return result{201, json, "application/json", {}};
}

// ---------------------------------------------------------------- webhooks

service::result service::verify_signature(const net::http_request& req,
                                          const rapidjson::Value& body) {
  for (const char* name : {"auth_algo", "cert_url", "transmission_id", "transmission_sig",
                           "transmission_time", "webhook_id"}) {
    auto m = body.FindMember(name);
    if (m == body.MemberEnd() || !m->value.IsString())
      return error(400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.",
                   "/" + std::string(name));
  }
  auto event = body.FindMember("webhook_event");
  if (event == body.MemberEnd() || !event->value.IsObject())
    return error(400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.",
                 "/webhook_event");
  // The event exactly as the caller spliced it in: PayPal checks the bytes
  // that were signed, so a re-serialised event fails, as it does at PayPal.
  auto raw = raw_member(req.body, "webhook_event");
  auto cert_url = get_string(body, "cert_url");
  bool ok = get_string(body, "auth_algo") == "SHA256withRSA" &&
            cert_url.ends_with("/v1/notifications/certs/" + notifier_.cert_id()) &&
            get_string(body, "webhook_id") == notifier_.webhook_id() && !raw.empty() &&
            key_.verify(signed_string(get_string(body, "transmission_id"),
                                      get_string(body, "transmission_time"),
                                      get_string(body, "webhook_id"), raw),
                        get_string(body, "transmission_sig"));
  return result{200,
                std::string("{\"verification_status\":\"") + (ok ? "SUCCESS" : "FAILURE") + "\"}",
                "application/json",
                {}};
}

// ---------------------------------------------------------------- reporting

void service::add_transaction(const std::string& id, const std::string& order_id,
                              const std::string& code, const std::string& currency,
                              std::int64_t amount, std::int64_t fee, const std::string& custom,
                              const std::string& invoice) {
  transactions_.push_back(
      transaction{id, order_id, code, now_s(), currency, amount, fee, custom, invoice});
}

service::result service::search(const net::http_request& req) {
  auto start_text = req.query_param("start_date");
  auto end_text = req.query_param("end_date");
  if (!start_text || !end_text)
    return error(400, "MISSING_REQUIRED_PARAMETER", "start_date and end_date are required.",
                 !start_text ? "start_date" : "end_date", "", "query");
  auto start = adyen::parse_iso_time(*start_text);
  auto end = adyen::parse_iso_time(*end_text);
  if (!start || !end)
    return error(400, "INVALID_PARAMETER_SYNTAX",
                 "Dates must be RFC 3339 (2024-06-01T00:00:00Z or with an offset).",
                 !start ? "start_date" : "end_date", !start ? *start_text : *end_text, "query");
  if (*end < *start)
    return error(400, "INVALID_PARAMETER_VALUE", "end_date must not be before start_date.",
                 "end_date", *end_text, "query");
  if (*end - *start > search_range_s_max)
    return error(400, "INVALID_PARAMETER_VALUE", "The date range must not exceed 31 days.",
                 "end_date", *end_text, "query");
  auto number = [&](const char* name, std::int64_t fallback, std::int64_t max,
                    std::optional<result>& e) -> std::int64_t {
    auto text = req.query_param(name);
    if (!text) return fallback;
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc{} || ptr != text->data() + text->size() || v < 1 || v > max)
      e = error(400, "INVALID_PARAMETER_VALUE",
                std::string(name) + " must be an integer from 1 to " + std::to_string(max) + ".",
                name, *text, "query");
    return v;
  };
  std::optional<result> e;
  auto page_size = number("page_size", 100, search_page_size_max, e);
  if (e) return *e;
  auto page = number("page", 1, 1'000'000, e);
  if (e) return *e;
  auto only = req.query_param("transaction_id");
  std::vector<const transaction*> rows;
  for (const auto& t : transactions_) {
    if (t.at < *start || t.at > *end) continue;
    if (only && t.id != *only) continue;
    rows.push_back(&t);
  }
  auto total = static_cast<std::int64_t>(rows.size());
  auto pages = std::max<std::int64_t>(1, (total + page_size - 1) / page_size);
  net::json_writer w;
  w.begin_object();
  w.key("transaction_details");
  w.begin_array();
  for (auto i = (page - 1) * page_size; i < std::min(total, page * page_size); ++i) {
    const auto& t = *rows[static_cast<std::size_t>(i)];
    w.begin_object();
    w.key("transaction_info");
    w.begin_object();
    w.field("paypal_account_id", t.event_code == "T0400" ? merchant_id : buyer_payer_id);
    w.field("transaction_id", t.id);
    if (!t.reference_id.empty()) {
      w.field("paypal_reference_id", t.reference_id);
      w.field("paypal_reference_id_type", "ODR");
    }
    w.field("transaction_event_code", t.event_code);
    w.field("transaction_initiation_date", rfc3339(t.at));
    w.field("transaction_updated_date", rfc3339(t.at));
    write_money(w, "transaction_amount", t.amount, t.currency);
    write_money(w, "fee_amount", t.fee, t.currency);
    w.field("transaction_status", "S");
    if (!t.invoice.empty()) w.field("invoice_id", t.invoice);
    if (!t.custom.empty()) w.field("custom_field", t.custom);
    w.end_object();
    w.end_object();
  }
  w.end_array();
  w.field("account_number", merchant_id);
  w.field("start_date", *start_text);
  w.field("end_date", *end_text);
  w.field("last_refreshed_datetime", rfc3339(now_s()));
  w.field("page", page);
  w.field("total_items", total);
  w.field("total_pages", pages);
  w.key("links");
  w.begin_array();
  write_link(w, base_url_ + "/paypal/v1/reporting/transactions?" + req.query, "self", "GET");
  w.end_array();
  w.end_object();
  return result{200, w.take(), "application/json", {}};
}

std::string service::settle() {
  std::lock_guard guard{mutex_};
  std::map<std::string, std::int64_t> balance;
  for (const auto& t : transactions_) balance[t.currency] += t.amount + t.fee;
  net::json_writer w;
  w.begin_object();
  w.key("withdrawals");
  w.begin_array();
  for (const auto& [currency, available] : balance) {
    if (available <= 0) continue;
    auto id = new_id(17);
    add_transaction(id, {}, "T0400", currency, -available, 0, {}, {});
    w.begin_object();
    w.field("transaction_id", id);
    write_money(w, "amount", available, currency);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

// ---------------------------------------------------------------- the buyer's page

void service::page(const net::http_request& req, const send_fn& send) {
  auto html = [&](int status, std::string body) {
    net::http_response res;
    res.status = status;
    res.content_type = "text/html; charset=utf-8";
    res.body = std::move(body);
    res.headers = {{"Cache-Control", "no-store"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                    "frame-ancestors 'none'"},
                   {"Referrer-Policy", "no-referrer"}};
    send(std::move(res), 0);
  };
  auto redirect = [&](const std::string& location) {
    net::http_response res;
    res.status = 302;
    res.content_type = "text/plain";
    res.body = "Redirecting to " + location;
    res.headers = {{"Location", location}, {"Cache-Control", "no-store"}};
    send(std::move(res), 0);
  };
  auto with_query = [](const std::string& url, const std::string& query) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
  };
  if (req.method == "GET") {
    auto token = req.query_param("token").value_or("");
    std::lock_guard guard{mutex_};
    auto it = orders_.find(token);
    if (it == orders_.end())
      return html(404,
                  message_html("Order not found", "There is no PayPal order with this token."));
    auto& o = *it->second;
    approval_view v;
    v.order_id = o.id;
    v.amount = format_amount(o.value, o.currency);
    v.currency = o.currency;
    v.merchant = "Sandbox Merchant";
    v.buyer_email = buyer_email;
    v.status = o.status;
    v.approvable =
        o.status == "CREATED" || o.status == "PAYER_ACTION_REQUIRED" || o.status == "APPROVED";
    return html(200, approval_html(v));
  }
  if (req.method != "POST")
    return html(405, message_html("Method not allowed", "Use GET or POST."));
  auto form = net::parse_form(req.body);
  std::string token;
  std::string funding = "balance";
  std::string action;
  if (form)
    for (const auto& [k, v] : *form) {
      if (k == "token") token = v;
      if (k == "funding") funding = v;
      if (k == "action") action = v;
    }
  std::string location;
  {
    std::lock_guard guard{mutex_};
    auto it = orders_.find(token);
    if (it == orders_.end())
      return html(404,
                  message_html("Order not found", "There is no PayPal order with this token."));
    auto& o = *it->second;
    if (action == "cancel") {
      // The order stays as it was; the buyer goes back to the merchant.
      if (o.cancel_url.empty())
        return html(200, message_html("Canceled", "You canceled; you may close this window."));
      location = with_query(o.cancel_url, "token=" + o.id);
    } else if (action == "approve") {
      auto r = approve(o, funding);
      if (r.status != 200)
        return html(r.status == 400 ? 400 : 409,
                    message_html("Cannot approve", "This order cannot be approved now."));
      if (o.return_url.empty()) {
        location.clear();
      } else {
        location =
            with_query(o.return_url, "token=" + o.id + "&PayerID=" + std::string(buyer_payer_id));
      }
    } else {
      return html(400, message_html("Bad request", "action must be approve or cancel."));
    }
  }
  flush_events();
  if (location.empty())
    return html(200, message_html("Approved",
                                  "You approved the payment; you may close this "
                                  "window."));
  redirect(location);
}

// ---------------------------------------------------------------- controls

service::result service::control(const net::http_request& req,
                                 const std::vector<std::string>& parts) {
  // The merchant's credentials (Basic client_id:secret) or a valid token.
  bool ok = false;
  if (auto auth = req.header_value("Authorization")) {
    if (auth->starts_with("Basic ")) {
      auto decoded = adyen::base64_decode(auth->substr(6)).value_or("");
      auto colon = decoded.find(':');
      ok = colon != std::string::npos &&
           core::constant_time_equal(decoded.substr(0, colon), options_.paypal_client_id) &&
           core::constant_time_equal(decoded.substr(colon + 1), options_.paypal_client_secret);
    } else if (auth->starts_with("Bearer ")) {
      std::lock_guard guard{mutex_};
      auto it = tokens_.find(std::string(auth->substr(7)));
      ok = it != tokens_.end() && it->second > steady_ms();
    }
  }
  if (!ok)
    return error(401, "INVALID_ACCOUNT_STATUS",
                 "Test controls need Basic client_id:client_secret or a valid bearer token.",
                 "Authorization", "", "header");
  auto n = parts.size();
  rapidjson::Document body;
  body.SetObject();
  if (req.method == "POST" && req.body.find_first_not_of(" \t\r\n") != std::string::npos &&
      net::parse_json_object(req.body, body) != net::json_error::none)
    return error(400, "MALFORMED_REQUEST_JSON", "The body must be a JSON object.");
  if (n == 5 && parts[2] == "orders" && parts[4] == "approve" && req.method == "POST") {
    std::lock_guard guard{mutex_};
    auto it = orders_.find(parts[3]);
    if (it == orders_.end()) return not_found("order_id", parts[3]);
    auto funding = body.HasMember("funding") ? get_string(body, "funding") : "balance";
    return approve(*it->second, funding);
  }
  if (n == 5 && parts[2] == "authorizations" && parts[4] == "expire" && req.method == "POST") {
    // Day 30 at once: PayPal voids an authorization it holds too long.
    std::lock_guard guard{mutex_};
    auto it = authorizations_.find(parts[3]);
    if (it == authorizations_.end()) return not_found("authorization_id", parts[3]);
    auto& a = *it->second;
    if (a.status != "CREATED" && a.status != "PARTIALLY_CAPTURED")
      return error(422, "CANNOT_BE_VOIDED", "The authorization is " + a.status + ".");
    a.expires = now_s() - 1;
    a.status = "VOIDED";
    a.updated = now_s();
    auto json = authorization_json(a);
    emit("PAYMENT.AUTHORIZATION.VOIDED", "authorization",
         "A payment authorization was voided (expired)", json);
    return result{200, json, "application/json", {}};
  }
  if (n == 3 && parts[2] == "settle" && req.method == "POST")
    return result{200, settle(), "application/json", {}};
  if (n == 3 && parts[2] == "events" && req.method == "GET")
    return result{200, "{\"events\":" + notifier_.events_json() + "}", "application/json", {}};
  if (n == 3 && parts[2] == "deliveries" && req.method == "GET")
    return result{200, notifier_.attempts_json(), "application/json", {}};
  if (n == 3 && parts[2] == "requests" && req.method == "GET") {
    std::lock_guard guard{record_mutex_};
    std::string out = "{\"requests\":[";
    bool first = true;
    for (const auto& r : recorded_) {
      if (!first) out += ',';
      first = false;
      out += r;
    }
    return result{200, out + "]}", "application/json", {}};
  }
  if (n == 3 && parts[2] == "webhook" && (req.method == "POST" || req.method == "GET")) {
    if (req.method == "POST") {
      if (body.HasMember("url")) {
        auto url = get_string(body, "url");
        if (!url.empty() && !net::parse_url(url))
          return error(400, "INVALID_PARAMETER_VALUE", "url must be an http(s) URL.", "url", url);
        notifier_.set_url(url);
      }
      if (body.HasMember("webhook_id")) {
        auto id = get_string(body, "webhook_id");
        if (id.empty() || id.size() > 50)
          return error(400, "INVALID_PARAMETER_VALUE", "webhook_id must be 1 to 50 characters.",
                       "webhook_id", id);
        notifier_.set_webhook_id(id);
      }
    }
    net::json_writer w;
    w.begin_object();
    w.field("url", notifier_.url());
    w.field("webhook_id", notifier_.webhook_id());
    w.field("cert_url", notifier_.cert_url());
    w.end_object();
    return result{200, w.take(), "application/json", {}};
  }
  return error(404, "INVALID_RESOURCE_ID", "No such test control: " + req.method + " " + req.path,
               "path", req.path, "path");
}

}  // namespace pay::sandbox::paypal
