#include "psp/stripe/stripe_connector.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/ids.hpp"
#include "core/limits.hpp"
#include "core/log.hpp"
#include "core/payment_intent.hpp"
#include "net/form.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"
#include "net/json.hpp"
#include "psp/connector_support.hpp"
#include "psp/stripe/stripe_mapping.hpp"

namespace pay::psp {

using namespace pay::net;

namespace {

using core::psp_failure;
using core::psp_failure_kind;

/// A string member, or the `id` of an expanded object in its place (Stripe
/// answers either, depending on `expand[]`); nullopt for null or absent.
std::optional<std::string> id_or_expanded(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return std::nullopt;
  if (it->value.IsString()) return std::string(it->value.GetString(), it->value.GetStringLength());
  if (it->value.IsObject()) {
    auto id = string_member(it->value, "id");
    if (!id.empty()) return id;
  }
  return std::nullopt;
}

/// An integer member; `required` ones must be present and integral.
bool int_member(const rapidjson::Value& obj, const char* name, std::int64_t& out, bool required,
                std::string& error) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    if (required) error = std::string("missing integer '") + name + "'";
    return !required;
  }
  if (!it->value.IsInt64()) {
    error = std::string("'") + name + "' is not an integer";
    return false;
  }
  out = it->value.GetInt64();
  return true;
}

bool required_string(const rapidjson::Value& obj, const char* name, std::string& out,
                     std::string& error) {
  out = string_member(obj, name);
  if (out.empty()) error = std::string("missing string '") + name + "'";
  return !out.empty();
}

/// Parses `body` as a JSON object whose `object` (when present) is `kind`.
bool parse_object(std::string_view body, const char* kind, rapidjson::Document& doc,
                  std::string& error) {
  if (auto e = parse_json_object(body, doc); e != json_error::none) {
    error = e == json_error::too_deep ? "the JSON is nested too deeply" : "the body is not JSON";
    return false;
  }
  auto object = string_member(doc, "object");
  if (!object.empty() && object != kind) {
    error = "the object is a '" + object + "', not a '" + kind + "'";
    return false;
  }
  return true;
}

/// The JSON text of a member that is an object; nullopt for null or absent.
std::optional<std::string> raw_object(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsObject()) return std::nullopt;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  it->value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

template <class T>
using parser_fn = std::optional<T> (*)(std::string_view, std::string&);

psp_failure local_failure(std::string message, std::string param = {}) {
  return refused_before_call("invalid_request_error", std::move(message), std::move(param));
}

/// An Idempotency-Key must be present, within Stripe's length and free of
/// control bytes (it becomes a header line).
std::optional<psp_failure> check_idempotency_key(const std::string& key) {
  if (key.empty() || key.size() > core::limits::idempotency_key_length_max)
    return local_failure("Every mutating PSP call needs an Idempotency-Key of 1 to 255 characters.",
                         "Idempotency-Key");
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f)
      return local_failure("The Idempotency-Key contains a control character.", "Idempotency-Key");
  return std::nullopt;
}

std::optional<psp_failure> check_id(const std::string& id, const char* what) {
  if (id.empty()) return local_failure(std::string("The ") + what + " id is empty.", "id");
  return std::nullopt;
}

/// Flattens a flat JSON object into `metadata[k]=v` fields; nullopt when it
/// is not one (the engine validates metadata before it gets here).
std::optional<form_fields> metadata_fields(const std::string& metadata_json) {
  form_fields out;
  if (metadata_json.find_first_not_of(" \t\r\n") == std::string::npos) return out;
  rapidjson::Document doc;
  if (parse_json_object(metadata_json, doc) != json_error::none) return std::nullopt;
  for (const auto& m : doc.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    // Brackets would change the meaning of `metadata[key]`; Stripe refuses them too.
    if (key.empty() || key.find_first_of("[]") != std::string::npos) return std::nullopt;
    std::string value;
    if (m.value.IsString())
      value.assign(m.value.GetString(), m.value.GetStringLength());
    else if (m.value.IsInt64())
      value = std::to_string(m.value.GetInt64());
    else if (m.value.IsBool())
      value = m.value.GetBool() ? "true" : "false";
    else
      return std::nullopt;
    out.emplace_back("metadata[" + key + "]", std::move(value));
  }
  return out;
}

std::string lowercase(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

// ---- parsing -------------------------------------------------------------------

core::psp_failure stripe_failure_of(int http_status, std::string_view body,
                                    std::string_view secret_key) {
  psp_failure f;
  f.http_status = http_status;
  rapidjson::Document doc;
  bool has_error_object = false;
  if (parse_json_object(body, doc) == json_error::none) {
    auto it = doc.FindMember("error");
    if (it != doc.MemberEnd() && it->value.IsObject()) {
      has_error_object = true;
      const auto& e = it->value;
      f.type = string_member(e, "type");
      f.code = string_member(e, "code");
      f.decline_code = string_member(e, "decline_code");
      f.message = string_member(e, "message");
      f.param = string_member(e, "param");
    }
  }
  if (http_status == 402 || f.type == "card_error")
    f.kind = psp_failure_kind::declined;
  else if (http_status == 429 || http_status == 409 || http_status >= 500)
    // 409: the PSP still runs an earlier attempt under this idempotency key
    // (typically one of ours that timed out). Its outcome is not known yet,
    // so this is not a final answer to store: retry later with the same key.
    f.kind = psp_failure_kind::retryable;
  else if (http_status >= 400)
    f.kind = psp_failure_kind::rejected;
  else
    // A 1xx or 3xx is no answer about the request at all: nothing is known to
    // have happened, so the caller may try again with the same key.
    f.kind = psp_failure_kind::retryable;
  if (!has_error_object)
    f.message =
        "The PSP answered HTTP " + std::to_string(http_status) + " without a Stripe error object.";
  else if (f.message.empty())
    f.message = "The PSP answered HTTP " + std::to_string(http_status) + ".";
  f.message = scrub(std::move(f.message), secret_key);
  f.param = scrub(std::move(f.param), secret_key);
  return f;
}

namespace {

/// The latest charge's card facts: Stripe's capture deadline
/// (`payment_method_details.card.capture_before`) and the card network,
/// from `latest_charge` when expanded, else `charges.data[0]` (API versions
/// before 2022-11-15). Absent ones stay nullopt.
void read_card_facts(const rapidjson::Value& doc, core::psp_intent& out) {
  const rapidjson::Value* charge = nullptr;
  if (auto lc = doc.FindMember("latest_charge"); lc != doc.MemberEnd() && lc->value.IsObject())
    charge = &lc->value;
  if (charge == nullptr) {
    auto charges = doc.FindMember("charges");
    if (charges != doc.MemberEnd() && charges->value.IsObject()) {
      auto data = charges->value.FindMember("data");
      if (data != charges->value.MemberEnd() && data->value.IsArray() && !data->value.Empty() &&
          data->value[0].IsObject())
        charge = &data->value[0];
    }
  }
  if (charge == nullptr) return;
  auto details = charge->FindMember("payment_method_details");
  if (details == charge->MemberEnd() || !details->value.IsObject()) return;
  auto card = details->value.FindMember("card");
  if (card == details->value.MemberEnd() || !card->value.IsObject()) return;
  if (auto cb = card->value.FindMember("capture_before");
      cb != card->value.MemberEnd() && cb->value.IsInt64() && cb->value.GetInt64() > 0)
    out.capture_before = cb->value.GetInt64();
  auto network = string_member(card->value, "network");
  if (network.empty()) network = string_member(card->value, "brand");
  if (!network.empty()) out.card_network = lowercase(std::string(network));
}

}  // namespace

std::optional<core::psp_intent> parse_stripe_intent(std::string_view body, std::string& error) {
  rapidjson::Document doc;
  if (!parse_object(body, "payment_intent", doc, error)) return std::nullopt;
  core::psp_intent out;
  // A Stripe intent always states both amounts (absent reads as 0).
  std::int64_t capturable = 0;
  std::int64_t received = 0;
  if (!required_string(doc, "id", out.id, error) ||
      !required_string(doc, "status", out.psp_status, error) ||
      !int_member(doc, "amount", out.amount, true, error) ||
      !required_string(doc, "currency", out.currency, error) ||
      !int_member(doc, "amount_capturable", capturable, false, error) ||
      !int_member(doc, "amount_received", received, false, error))
    return std::nullopt;
  out.amount_capturable = capturable;
  out.amount_received = received;
  auto status = stripe_intent_status(out.psp_status, string_member(doc, "cancellation_reason"));
  if (!status) {
    error = "unknown status '" + out.psp_status + "'";
    return std::nullopt;
  }
  out.status = *status;
  out.capture = core::parse_capture_method(string_member(doc, "capture_method"));
  if (auto secret = doc.FindMember("client_secret");
      secret != doc.MemberEnd() && secret->value.IsString())
    out.client_secret = std::string(secret->value.GetString(), secret->value.GetStringLength());
  out.latest_charge = id_or_expanded(doc, "latest_charge");
  if (!out.latest_charge) {
    // API versions before 2022-11-15 (ours pins 2020-08-27) carry no
    // latest_charge; `charges.data` then holds only the latest charge.
    auto charges = doc.FindMember("charges");
    if (charges != doc.MemberEnd() && charges->value.IsObject()) {
      auto data = charges->value.FindMember("data");
      if (data != charges->value.MemberEnd() && data->value.IsArray() && !data->value.Empty() &&
          data->value[0].IsObject()) {
        auto id = string_member(data->value[0], "id");
        if (!id.empty()) out.latest_charge = id;
      }
    }
  }
  out.last_payment_error_json = raw_object(doc, "last_payment_error");
  if (auto metadata = doc.FindMember("metadata");
      metadata != doc.MemberEnd() && metadata->value.IsObject()) {
    auto engine_id = string_member(metadata->value, "engine_intent_id");
    if (!engine_id.empty()) out.engine_metadata_id = std::string(engine_id);
  }
  read_card_facts(doc, out);
  return out;
}

std::optional<core::psp_refund> parse_stripe_refund(std::string_view body, std::string& error) {
  rapidjson::Document doc;
  if (!parse_object(body, "refund", doc, error)) return std::nullopt;
  core::psp_refund out;
  if (!required_string(doc, "id", out.id, error) ||
      !int_member(doc, "amount", out.amount, true, error) ||
      !required_string(doc, "currency", out.currency, error))
    return std::nullopt;
  // Stripe documents the status as nullable; null is "not known yet".
  out.status = stripe_refund_status(string_member(doc, "status"));
  out.payment_intent = id_or_expanded(doc, "payment_intent").value_or("");
  return out;
}

std::optional<core::psp_dispute> parse_stripe_dispute(std::string_view body, std::string& error) {
  rapidjson::Document doc;
  if (!parse_object(body, "dispute", doc, error)) return std::nullopt;
  core::psp_dispute out;
  if (!required_string(doc, "id", out.id, error) ||
      !int_member(doc, "amount", out.amount, true, error) ||
      !required_string(doc, "currency", out.currency, error) ||
      !required_string(doc, "status", out.psp_status, error) ||
      !int_member(doc, "created", out.created, false, error))
    return std::nullopt;
  out.currency = lowercase(out.currency);
  auto status = stripe_dispute_status(out.psp_status);
  if (!status) {
    error = "unknown dispute status '" + out.psp_status + "'";
    return std::nullopt;
  }
  out.status = *status;
  out.reason = string_member(doc, "reason");
  out.charge = id_or_expanded(doc, "charge");
  out.payment_intent = id_or_expanded(doc, "payment_intent");
  if (auto details = doc.FindMember("evidence_details");
      details != doc.MemberEnd() && details->value.IsObject()) {
    auto due = details->value.FindMember("due_by");
    if (due != details->value.MemberEnd() && due->value.IsInt64())
      out.evidence_due_by = due->value.GetInt64();
  }
  auto bts = doc.FindMember("balance_transactions");
  if (bts != doc.MemberEnd() && bts->value.IsArray()) {
    for (const auto& bt : bts->value.GetArray()) {
      if (!bt.IsObject()) {
        error = "a dispute's balance transaction is not an object";
        return std::nullopt;
      }
      core::dispute_money_movement m;
      if (!required_string(bt, "id", m.id, error) ||
          !int_member(bt, "amount", m.amount, true, error) ||
          !int_member(bt, "fee", m.fee, true, error) ||
          !required_string(bt, "currency", m.currency, error) ||
          !int_member(bt, "created", m.created, false, error))
        return std::nullopt;
      m.currency = lowercase(m.currency);
      out.movements.push_back(std::move(m));
    }
  }
  return out;
}

namespace {

std::optional<core::psp_payout> payout_of(const rapidjson::Value& v, std::string& error) {
  core::psp_payout out;
  if (!v.IsObject()) {
    error = "a payout is not an object";
    return std::nullopt;
  }
  if (!required_string(v, "id", out.id, error) ||
      !int_member(v, "amount", out.amount, true, error) ||
      !required_string(v, "currency", out.currency, error) ||
      !int_member(v, "created", out.created, true, error) ||
      !int_member(v, "arrival_date", out.arrival_date, false, error))
    return std::nullopt;
  out.currency = lowercase(out.currency);
  auto status = string_member(v, "status");
  auto mapped = stripe_payout_status(status);
  if (!mapped) {
    error = "unknown payout status '" + status + "'";
    return std::nullopt;
  }
  out.status = *mapped;
  out.failure_code = string_member(v, "failure_code");
  return out;
}

std::optional<core::psp_balance_transaction> balance_transaction_of(const rapidjson::Value& v,
                                                                    std::string& error) {
  core::psp_balance_transaction out;
  if (!v.IsObject()) {
    error = "a balance transaction is not an object";
    return std::nullopt;
  }
  std::string type;
  if (!required_string(v, "id", out.id, error) || !required_string(v, "type", type, error) ||
      !int_member(v, "amount", out.amount, true, error) ||
      !int_member(v, "fee", out.fee, true, error) || !int_member(v, "net", out.net, true, error) ||
      !required_string(v, "currency", out.currency, error) ||
      !int_member(v, "created", out.created, true, error))
    return std::nullopt;
  out.currency = lowercase(out.currency);
  out.type = stripe_balance_tx_type(type, string_member(v, "reporting_category"));
  out.source = id_or_expanded(v, "source").value_or("");
  // With expand[]=data.source the source is the charge or refund object,
  // which names its payment intent.
  if (auto src = v.FindMember("source"); src != v.MemberEnd() && src->value.IsObject())
    out.payment_intent = id_or_expanded(src->value, "payment_intent");
  out.payout = id_or_expanded(v, "payout");
  return out;
}

template <class T>
bool list_of(const rapidjson::Value& doc, core::psp_page<T>& page,
             std::optional<T> (*item)(const rapidjson::Value&, std::string&), std::string& error) {
  auto data = doc.FindMember("data");
  if (data == doc.MemberEnd() || !data->value.IsArray()) {
    error = "a list without 'data'";
    return false;
  }
  for (const auto& v : data->value.GetArray()) {
    auto parsed = item(v, error);
    if (!parsed) return false;
    page.data.push_back(std::move(*parsed));
  }
  auto more = doc.FindMember("has_more");
  page.has_more = more != doc.MemberEnd() && more->value.IsBool() && more->value.GetBool();
  return true;
}

}  // namespace

std::optional<core::psp_payout> parse_stripe_payout(std::string_view body, std::string& error) {
  rapidjson::Document doc;
  if (!parse_object(body, "payout", doc, error)) return std::nullopt;
  return payout_of(doc, error);
}

std::optional<core::psp_page<core::psp_balance_transaction>> parse_stripe_balance_transactions(
    std::string_view body, std::string& error) {
  rapidjson::Document doc;
  if (!parse_object(body, "list", doc, error)) return std::nullopt;
  core::psp_page<core::psp_balance_transaction> page;
  if (!list_of(doc, page, &balance_transaction_of, error)) return std::nullopt;
  return page;
}

std::optional<core::psp_page<core::psp_payout>> parse_stripe_payouts(std::string_view body,
                                                                     std::string& error) {
  rapidjson::Document doc;
  if (!parse_object(body, "list", doc, error)) return std::nullopt;
  core::psp_page<core::psp_payout> page;
  if (!list_of(doc, page, &payout_of, error)) return std::nullopt;
  return page;
}

// ---- the connector -------------------------------------------------------------

struct stripe_connector::impl {
  explicit impl(stripe_options opts, std::string base_url)
      : options(std::move(opts)),
        base(std::move(base_url)),
        client(http_client_options{options.threads, options.ca_file,
                                   core::limits::http_client_body_bytes_max}) {}

  stripe_options options;
  std::string base;  ///< base_url without a trailing slash
  /// Delivers failures found before any request is sent, so that every
  /// callback runs on a connector thread, never inside the caller's call.
  boost::asio::thread_pool local{1};
  /// Declared last so it goes first: calls in flight are dropped (and their
  /// completions fail as retryable) while `local` still stands.
  http_client client;

  template <class T>
  void fail_locally(completion_ptr<T> c, psp_failure f) {
    boost::asio::post(local,
                      [c = std::move(c), f = std::move(f)]() mutable { (*c)(std::move(f)); });
  }

  /// Sends one request and completes `c` with the parsed object or the
  /// mapped failure.
  template <class T>
  void call(std::string method, std::string path, std::optional<form_fields> form,
            const std::string* idempotency_key, std::int64_t timeout_ms, const char* object_name,
            parser_fn<T> parse, std::string expected_id, completion_ptr<T> c) {
    client_request req;
    req.method = method;
    req.url = base + path;
    req.headers.emplace_back("Authorization", "Bearer " + options.secret_key);
    if (!options.api_version.empty())
      req.headers.emplace_back("Stripe-Version", options.api_version);
    req.headers.emplace_back("Accept", "application/json");
    if (idempotency_key != nullptr) req.headers.emplace_back("Idempotency-Key", *idempotency_key);
    // Ours, for the PSP's logs and support (Stripe ignores it and answers its
    // own Request-Id, logged next to ours); background calls get a fresh one.
    std::string our_request_id(core::log::current_request_id());
    if (our_request_id.empty()) our_request_id = core::make_id(core::id_prefix::request);
    req.headers.emplace_back("X-Request-Id", our_request_id);
    if (form) {
      req.body = encode_form(*form);
      req.content_type = "application/x-www-form-urlencoded";
    }
    // The caller's remaining time, but never beyond the named PSP deadline.
    auto budget_ms = std::clamp<std::int64_t>(timeout_ms, 1, core::limits::psp_call_timeout_ms);
    req.timeout_ms = budget_ms;
    auto started = std::chrono::steady_clock::now();
    client.async_send(std::move(req), [c = std::move(c), secret = options.secret_key,
                                       method = std::move(method), path = std::move(path),
                                       object_name, parse, expected_id = std::move(expected_id),
                                       started, budget_ms, our_request_id](client_result r) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      auto outcome = [&]() -> core::psp_outcome<T> {
        if (!r.answered) {
          psp_failure f;
          f.kind = psp_failure_kind::retryable;
          f.message = r.timed_out ? "The PSP did not answer within " + std::to_string(budget_ms) +
                                        " ms (timed out)."
                                  : "Could not reach the PSP: " + scrub(r.error, secret);
          return f;
        }
        auto status = r.response.status;
        if (status >= 200 && status < 300) {
          std::string error;
          auto parsed = parse(r.response.body, error);
          // An answer about another object than the one asked for must never
          // be applied to ours.
          if constexpr (requires { parsed->id; }) {
            if (parsed && !expected_id.empty() && parsed->id != expected_id) {
              error = "the answer is about '" + parsed->id + "', not '" + expected_id + "'";
              parsed.reset();
            }
          }
          if (parsed) return std::move(*parsed);
          psp_failure f;
          f.kind = psp_failure_kind::retryable;
          f.http_status = status;
          f.message = "The PSP answered HTTP " + std::to_string(status) + " but not with a " +
                      object_name + ": " + scrub(error, secret) + ".";
          return f;
        }
        return stripe_failure_of(status, r.response.body, secret);
      }();
      if (auto* f = std::get_if<psp_failure>(&outcome)) {
        auto status = std::to_string(f->http_status);
        auto duration = std::to_string(ms);
        auto psp_request_id = std::string(r.response.header_value("Request-Id").value_or(""));
        // A retryable failure says something about the PSP or the network
        // and deserves attention; a decline or rejection is a normal answer.
        auto level = f->kind == psp_failure_kind::retryable ? core::log::level::warn
                                                            : core::log::level::info;
        core::log::write(level, "psp call failed",
                         {{"psp", "stripe"},
                          {"method", method},
                          {"path", path},
                          {"kind", core::to_string(f->kind)},
                          {"http_status", status},
                          {"code", f->code},
                          {"message", f->message},
                          {"request_id", our_request_id},
                          {"psp_request_id", psp_request_id},
                          {"duration_ms", duration}});
      } else {
        auto duration = std::to_string(ms);
        auto psp_request_id = std::string(r.response.header_value("Request-Id").value_or(""));
        core::log::info("psp call", {{"psp", "stripe"},
                                     {"method", method},
                                     {"path", path},
                                     {"http_status", std::to_string(r.response.status)},
                                     {"request_id", our_request_id},
                                     {"psp_request_id", psp_request_id},
                                     {"duration_ms", duration}});
      }
      (*c)(std::move(outcome));
    });
  }
};

namespace {

/// base_url without trailing slashes; throws when it is not http(s)://host.
std::string checked_base_url(const stripe_options& o) {
  std::string base = o.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto url = parse_url(base);
  if (!url || base.find_first_of("?# \t\r\n") != std::string::npos)
    throw std::invalid_argument("stripe base_url must be http(s)://host[:port][/prefix], got '" +
                                o.base_url + "'");
  if (o.secret_key.empty()) throw std::invalid_argument("stripe secret_key is empty");
  // A live key never travels in clear text; plain http is for the sandbox.
  if (!url->tls && (o.secret_key.starts_with("sk_live_") || o.secret_key.starts_with("rk_live_")))
    throw std::invalid_argument("a live stripe key needs an https:// base_url");
  return base;
}

}  // namespace

stripe_connector::stripe_connector(stripe_options options) {
  auto base = checked_base_url(options);
  impl_ = std::make_unique<impl>(std::move(options), std::move(base));
}

stripe_connector::~stripe_connector() = default;

void stripe_connector::create_intent(const core::psp_create_intent& req,
                                     const std::string& idempotency_key, std::int64_t timeout_ms,
                                     intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_idempotency_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  auto metadata = metadata_fields(req.metadata_json);
  if (!metadata)
    return impl_->fail_locally(
        c, local_failure("metadata must be a flat JSON object of strings whose keys are not "
                         "empty and hold no brackets.",
                         "metadata"));
  form_fields form;
  form.emplace_back("amount", std::to_string(req.amount));
  form.emplace_back("currency", lowercase(req.currency));
  form.emplace_back("capture_method", std::string(core::to_string(req.capture)));
  if (req.description) form.emplace_back("description", *req.description);
  for (auto& field : *metadata)
    // The engine's own trace key wins over a merchant key of the same name.
    if (req.engine_intent_id.empty() || field.first != "metadata[engine_intent_id]")
      form.push_back(std::move(field));
  if (!req.engine_intent_id.empty())
    form.emplace_back("metadata[engine_intent_id]", req.engine_intent_id);
  form.emplace_back("payment_method_types[0]", "card");
  impl_->call<core::psp_intent>("POST", "/v1/payment_intents", std::move(form), &idempotency_key,
                                timeout_ms, "PaymentIntent", &parse_stripe_intent, {},
                                std::move(c));
}

void stripe_connector::retrieve_intent(const std::string& psp_intent_id, std::int64_t timeout_ms,
                                       intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_id(psp_intent_id, "PaymentIntent")) return impl_->fail_locally(c, *bad);
  impl_->call<core::psp_intent>("GET", "/v1/payment_intents/" + percent_encode(psp_intent_id),
                                std::nullopt, nullptr, timeout_ms, "PaymentIntent",
                                &parse_stripe_intent, psp_intent_id, std::move(c));
}

void stripe_connector::capture_intent(const core::psp_modification& m,
                                      const std::string& idempotency_key, std::int64_t timeout_ms,
                                      intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_id(m.psp_intent_id, "PaymentIntent")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_idempotency_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  form_fields form;
  if (m.amount) form.emplace_back("amount_to_capture", std::to_string(*m.amount));
  impl_->call<core::psp_intent>(
      "POST", "/v1/payment_intents/" + percent_encode(m.psp_intent_id) + "/capture",
      std::move(form), &idempotency_key, timeout_ms, "PaymentIntent", &parse_stripe_intent,
      m.psp_intent_id, std::move(c));
}

void stripe_connector::cancel_intent(const core::psp_modification& m,
                                     const std::string& idempotency_key, std::int64_t timeout_ms,
                                     intent_done done) {
  auto c = std::make_shared<completion<core::psp_intent>>(std::move(done));
  if (auto bad = check_id(m.psp_intent_id, "PaymentIntent")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_idempotency_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  impl_->call<core::psp_intent>(
      "POST", "/v1/payment_intents/" + percent_encode(m.psp_intent_id) + "/cancel", form_fields{},
      &idempotency_key, timeout_ms, "PaymentIntent", &parse_stripe_intent, m.psp_intent_id,
      std::move(c));
}

void stripe_connector::create_refund(const core::psp_modification& m,
                                     const std::string& idempotency_key, std::int64_t timeout_ms,
                                     refund_done done) {
  auto c = std::make_shared<completion<core::psp_refund>>(std::move(done));
  if (auto bad = check_id(m.psp_intent_id, "PaymentIntent")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_idempotency_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  form_fields form;
  form.emplace_back("payment_intent", m.psp_intent_id);
  if (m.amount) form.emplace_back("amount", std::to_string(*m.amount));
  if (m.reason) form.emplace_back("reason", *m.reason);
  impl_->call<core::psp_refund>("POST", "/v1/refunds", std::move(form), &idempotency_key,
                                timeout_ms, "Refund", &parse_stripe_refund, {}, std::move(c));
}

void stripe_connector::retrieve_refund(const std::string& psp_refund_id, std::int64_t timeout_ms,
                                       refund_done done) {
  auto c = std::make_shared<completion<core::psp_refund>>(std::move(done));
  if (auto bad = check_id(psp_refund_id, "Refund")) return impl_->fail_locally(c, *bad);
  impl_->call<core::psp_refund>("GET", "/v1/refunds/" + percent_encode(psp_refund_id), std::nullopt,
                                nullptr, timeout_ms, "Refund", &parse_stripe_refund, psp_refund_id,
                                std::move(c));
}

namespace {

std::string list_query_string(const core::psp_list_query& q, bool expand_source) {
  form_fields f;
  f.emplace_back("limit", std::to_string(q.limit));
  if (q.payout) f.emplace_back("payout", *q.payout);
  if (q.created_gte) f.emplace_back("created[gte]", std::to_string(*q.created_gte));
  if (q.created_lt) f.emplace_back("created[lt]", std::to_string(*q.created_lt));
  if (q.starting_after) f.emplace_back("starting_after", *q.starting_after);
  if (expand_source) f.emplace_back("expand[]", "data.source");
  return "?" + encode_form(f);
}

}  // namespace

void stripe_connector::list_balance_transactions(const core::psp_list_query& query,
                                                 std::int64_t timeout_ms, balance_page_done done) {
  using page = core::psp_page<core::psp_balance_transaction>;
  auto c = std::make_shared<completion<page>>(std::move(done));
  if (query.payout)
    if (auto bad = check_id(*query.payout, "Payout")) return impl_->fail_locally(c, *bad);
  impl_->call<page>("GET", "/v1/balance_transactions" + list_query_string(query, true),
                    std::nullopt, nullptr, timeout_ms, "list of balance transactions",
                    &parse_stripe_balance_transactions, {}, std::move(c));
}

void stripe_connector::list_payouts(const core::psp_list_query& query, std::int64_t timeout_ms,
                                    payout_page_done done) {
  using page = core::psp_page<core::psp_payout>;
  auto c = std::make_shared<completion<page>>(std::move(done));
  auto q = query;
  q.payout.reset();
  impl_->call<page>("GET", "/v1/payouts" + list_query_string(q, false), std::nullopt, nullptr,
                    timeout_ms, "list of payouts", &parse_stripe_payouts, {}, std::move(c));
}

void stripe_connector::retrieve_payout(const std::string& psp_payout_id, std::int64_t timeout_ms,
                                       payout_done done) {
  auto c = std::make_shared<completion<core::psp_payout>>(std::move(done));
  if (auto bad = check_id(psp_payout_id, "Payout")) return impl_->fail_locally(c, *bad);
  impl_->call<core::psp_payout>("GET", "/v1/payouts/" + percent_encode(psp_payout_id), std::nullopt,
                                nullptr, timeout_ms, "Payout", &parse_stripe_payout, psp_payout_id,
                                std::move(c));
}

void stripe_connector::submit_dispute_evidence(const std::string& psp_dispute_id,
                                               const std::string& evidence_json,
                                               const std::string& idempotency_key,
                                               std::int64_t timeout_ms, dispute_done done) {
  auto c = std::make_shared<completion<core::psp_dispute>>(std::move(done));
  if (auto bad = check_id(psp_dispute_id, "Dispute")) return impl_->fail_locally(c, *bad);
  if (auto bad = check_idempotency_key(idempotency_key)) return impl_->fail_locally(c, *bad);
  // The evidence is a flat JSON object of strings (checked by the route);
  // each field goes as evidence[name].
  rapidjson::Document doc;
  if (parse_json_object(evidence_json, doc) != json_error::none)
    return impl_->fail_locally(c, local_failure("evidence must be a JSON object.", "evidence"));
  form_fields form;
  for (const auto& m : doc.GetObject()) {
    if (!m.value.IsString())
      return impl_->fail_locally(
          c, local_failure("every evidence field must be a string.", "evidence"));
    form.emplace_back("evidence[" + std::string(m.name.GetString(), m.name.GetStringLength()) + "]",
                      std::string(m.value.GetString(), m.value.GetStringLength()));
  }
  form.emplace_back("submit", "true");
  impl_->call<core::psp_dispute>("POST", "/v1/disputes/" + percent_encode(psp_dispute_id),
                                 std::move(form), &idempotency_key, timeout_ms, "Dispute",
                                 &parse_stripe_dispute, psp_dispute_id, std::move(c));
}

}  // namespace pay::psp
