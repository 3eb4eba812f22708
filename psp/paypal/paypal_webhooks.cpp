#include "psp/paypal/paypal_webhooks.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <rapidjson/document.h>

#include "core/log.hpp"
#include "core/standard_webhooks.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"
#include "psp/paypal/paypal_connector.hpp"
#include "psp/paypal/paypal_orders.hpp"
#include "psp/paypal/paypal_time.hpp"

namespace pay::psp {

namespace {

constexpr std::size_t cert_url_bytes_max = 2'048;

constexpr std::array<std::uint32_t, 256> crc_table = [] {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}();

struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::shared_ptr<X509>;

x509_ptr share(X509* x) {
  return x509_ptr(x, x509_free{});
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string related_id(const rapidjson::Value& object, const char* name) {
  auto* sd = member(object, "supplementary_data");
  if (sd == nullptr) return {};
  auto* ids = member(*sd, "related_ids");
  if (ids == nullptr) return {};
  return paypal_string(*ids, name);
}

}  // namespace

std::uint32_t paypal_crc32(std::string_view data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string paypal_signed_string(std::string_view transmission_id,
                                 std::string_view transmission_time, std::string_view webhook_id,
                                 std::string_view body) {
  std::string s;
  s.append(transmission_id).append("|").append(transmission_time).append("|").append(webhook_id);
  s += "|" + std::to_string(paypal_crc32(body));
  return s;
}

std::vector<std::string> paypal_default_cert_hosts() {
  return {"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com",
          "api-m.sandbox.paypal.com"};
}

// ---- parsing -----------------------------------------------------------------------

std::optional<core::psp_event> parse_paypal_event(std::string_view body) {
  rapidjson::Document doc;
  if (net::parse_json_object(body, doc) != net::json_error::none) return std::nullopt;
  core::psp_event e;
  e.id = paypal_string(doc, "id");
  e.psp_type = paypal_string(doc, "event_type");
  auto* resource = member(doc, "resource");
  if (e.id.empty() || e.psp_type.empty() || resource == nullptr || !resource->IsObject())
    return std::nullopt;
  e.created = parse_paypal_time(paypal_string(doc, "create_time")).value_or(0);
  e.object_id = paypal_string(*resource, "id");
  e.payload = std::string(body);
  e.kind = core::psp_event_kind::other;
  const auto& type = e.psp_type;
  const auto& r = *resource;

  if (type == "CHECKOUT.ORDER.APPROVED" || type == "CHECKOUT.ORDER.COMPLETED") {
    std::string error;
    if (auto i = paypal_intent_of_order(r, error)) {
      i->psp_status = type + ":" + i->psp_status;
      e.kind = core::psp_event_kind::intent_changed;
      e.object_id = i->id;
      e.intent = std::move(*i);
    }
    return e;
  }
  if (type == "PAYMENT.CAPTURE.REFUNDED") {
    std::string error;
    if (auto refund = paypal_refund_of(r, {}, error); refund && !refund->payment_intent.empty()) {
      e.kind = core::psp_event_kind::refund_changed;
      e.refund = std::move(*refund);
    }
    return e;
  }
  bool authorization = type.starts_with("PAYMENT.AUTHORIZATION.");
  bool capture = type.starts_with("PAYMENT.CAPTURE.");
  if (!authorization && !capture) return e;
  auto order = related_id(r, "order_id");
  auto amount = paypal_amount_of(r);
  // An event the engine cannot tie to an order, or whose amount it cannot
  // express exactly, is recorded as `other`, never guessed at.
  if (order.empty() || !amount) return e;
  core::psp_intent i;
  i.id = order;
  i.psp_status = type + ":" + paypal_string(r, "status");
  i.amount = amount->first;
  i.currency = amount->second;
  auto custom = paypal_string(r, "custom_id");
  if (!custom.empty()) i.engine_reference = custom;
  bool of_authorization = !related_id(r, "authorization_id").empty();
  using st = core::intent_status;
  if (type == "PAYMENT.AUTHORIZATION.CREATED") {
    i.status = st::authorized;
    i.capture = core::capture_method::manual;
    i.amount_capturable = amount->first;
  } else if (type == "PAYMENT.AUTHORIZATION.VOIDED") {
    i.status = st::canceled;
    i.amount_capturable = 0;
  } else if (type == "PAYMENT.CAPTURE.COMPLETED") {
    i.status = st::captured;
    i.amount_received = amount->first;
    i.amount_capturable = 0;
    i.latest_charge = e.object_id;
  } else if (type == "PAYMENT.CAPTURE.PENDING") {
    i.status = of_authorization ? st::capture_pending : st::processing;
    i.latest_charge = e.object_id;
  } else if (type == "PAYMENT.CAPTURE.DENIED" || type == "PAYMENT.CAPTURE.DECLINED") {
    if (of_authorization) {
      i.status = st::authorized;
      i.modification_failed = true;
      i.last_payment_error_json = paypal_payment_error_json(r, "capture_failed");
    } else {
      i.status = st::created;
      i.last_payment_error_json = paypal_payment_error_json(r, "card_declined");
      i.amount_capturable = 0;
      i.amount_received = 0;
    }
  } else {
    return e;
  }
  e.kind = core::psp_event_kind::intent_changed;
  e.object_id = i.id;
  e.intent = std::move(i);
  return e;
}

// ---- verification ------------------------------------------------------------------

struct paypal_webhooks::impl {
  impl(paypal_webhook_options o, std::shared_ptr<paypal_connector> a)
      : options(std::move(o)),
        api(std::move(a)),
        client(net::http_client_options{1, options.download_ca_file,
                                        core::limits::paypal_cert_bytes_max}) {}

  paypal_webhook_options options;
  std::shared_ptr<paypal_connector> api;

  struct allowed_host {
    bool http = false;
    std::string host;
    std::string port;
  };
  std::vector<allowed_host> hosts;

  std::mutex mutex;
  std::map<std::string, x509_ptr> certs;  // by URL
  std::deque<std::string> cert_order;     // oldest first, for eviction
  std::map<std::string, std::shared_future<void>> downloads;

  net::http_client client;  // declared last: goes first

  bool url_allowed(const std::string& url) const {
    if (url.empty() || url.size() > cert_url_bytes_max ||
        url.find_first_of(" \t\r\n#") != std::string::npos)
      return false;
    auto u = net::parse_url(url);
    if (!u) return false;
    for (const auto& h : hosts) {
      if (h.host != u->host) continue;
      if (h.http ? u->port == h.port : (u->tls && u->port == h.port)) return true;
    }
    return false;
  }

  /// Checks `pem` as the certificate of `url` and caches it.
  bool add(const std::string& url, std::string_view pem, std::int64_t now_s, std::string& error) {
    if (pem.size() > core::limits::paypal_cert_bytes_max) {
      error = "the certificate is too large";
      return false;
    }
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    if (!bio) {
      error = "out of memory";
      return false;
    }
    std::vector<x509_ptr> chain;
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
      chain.push_back(share(x));
    if (chain.empty()) {
      error = "no PEM certificate";
      return false;
    }
    X509* leaf = chain.front().get();
    char cn[256] = {};
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
    std::string_view name = n > 0 ? std::string_view(cn, static_cast<std::size_t>(n)) : "";
    if (!name.starts_with(options.cert_cn_prefix) || !name.ends_with(options.cert_cn_suffix)) {
      error = "the certificate's CN '" + std::string(name) + "' is not a PayPal signing one";
      return false;
    }
    if (!valid_at(leaf, now_s)) {
      error = "the certificate is not valid now";
      return false;
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(X509_get_pubkey(leaf), EVP_PKEY_free);
    if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
      error = "the certificate's key is not RSA";
      return false;
    }
    if (options.cert_chain_check && !chain_ok(chain, now_s, error)) return false;
    std::lock_guard lock(mutex);
    if (certs.find(url) == certs.end()) {
      while (certs.size() >= core::limits::paypal_cert_cache_entries_max && !cert_order.empty()) {
        certs.erase(cert_order.front());
        cert_order.pop_front();
      }
      cert_order.push_back(url);
    }
    certs[url] = chain.front();
    return true;
  }

  static bool valid_at(X509* x, std::int64_t now_s) {
    auto t = static_cast<time_t>(now_s);
    return X509_cmp_time(X509_get0_notBefore(x), &t) < 0 &&
           X509_cmp_time(X509_get0_notAfter(x), &t) > 0;
  }

  bool chain_ok(const std::vector<x509_ptr>& chain, std::int64_t now_s, std::string& error) const {
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                  X509_STORE_free);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        X509_STORE_CTX_free);
    std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
        sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_free(s); });
    if (!store || !ctx || !untrusted) {
      error = "out of memory";
      return false;
    }
    X509_STORE_set_default_paths(store.get());
    if (!options.cert_ca_file.empty() &&
        X509_STORE_load_locations(store.get(), options.cert_ca_file.c_str(), nullptr) != 1) {
      error = "the trusted CA file cannot be read";
      return false;
    }
    for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
    if (X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get()) != 1) {
      error = "cannot check the certificate chain";
      return false;
    }
    X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now_s));
    if (X509_verify_cert(ctx.get()) != 1) {
      error = std::string("the certificate chain does not verify: ") +
              X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
      return false;
    }
    return true;
  }

  x509_ptr cached(const std::string& url) {
    std::lock_guard lock(mutex);
    auto it = certs.find(url);
    return it == certs.end() ? nullptr : it->second;
  }

  /// The certificate of `url`: cached, or downloaded while waiting a bounded time.
  x509_ptr certificate(const std::string& url) {
    if (auto c = cached(url)) return c;
    std::shared_future<void> pending;
    {
      std::lock_guard lock(mutex);
      if (auto it = downloads.find(url); it != downloads.end()) {
        pending = it->second;
      } else {
        if (downloads.size() >= core::limits::paypal_cert_cache_entries_max) return nullptr;
        auto promise = std::make_shared<std::promise<void>>();
        pending = promise->get_future().share();
        downloads.emplace(url, pending);
        net::client_request req;
        req.method = "GET";
        req.url = url;
        req.timeout_ms = core::limits::psp_call_timeout_ms;
        client.async_send(std::move(req), [this, url, promise](net::client_result r) {
          if (r.answered && r.response.status == 200) {
            auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
            std::string error;
            if (!add(url, r.response.body, now, error)) core_log_refused(url, error);
          } else {
            core_log_refused(url,
                             r.answered ? "HTTP " + std::to_string(r.response.status) : r.error);
          }
          {
            std::lock_guard lock(mutex);
            downloads.erase(url);
          }
          promise->set_value();
        });
      }
    }
    pending.wait_for(std::chrono::milliseconds(core::limits::paypal_webhook_fetch_timeout_ms));
    return cached(url);
  }

  static void core_log_refused(const std::string& url, const std::string& why) {
    core::log::warn("paypal webhook certificate refused", {{"url", url}, {"reason", why}});
  }
};

paypal_webhooks::paypal_webhooks(paypal_webhook_options options,
                                 std::shared_ptr<paypal_connector> api) {
  if (options.verify == paypal_verification::api && !api)
    throw std::invalid_argument("paypal api webhook verification needs the connector");
  auto hosts = options.cert_hosts;
  impl_ = std::make_shared<impl>(std::move(options), std::move(api));
  for (const auto& h : hosts) {
    impl::allowed_host a;
    std::string rest = h;
    if (rest.starts_with("http://")) {
      a.http = true;
      rest = rest.substr(7);
    } else if (rest.starts_with("https://")) {
      rest = rest.substr(8);
    }
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    auto colon = rest.rfind(':');
    a.host = rest.substr(0, colon);
    a.port = colon == std::string::npos ? (a.http ? "80" : "443") : rest.substr(colon + 1);
    if (a.host.empty() || a.port.empty() || a.host.find_first_of("/?# \t@") != std::string::npos ||
        a.port.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument(
          "a paypal cert host must be host[:port] or http://host:port, got '" + h + "'");
    impl_->hosts.push_back(std::move(a));
  }
}

paypal_webhooks::~paypal_webhooks() = default;

bool paypal_webhooks::configured() const {
  return !impl_->options.webhook_id.empty();
}

bool paypal_webhooks::add_certificate(const std::string& url, std::string_view pem,
                                      std::int64_t now_s, std::string& error) {
  if (!impl_->url_allowed(url)) {
    error = "the certificate URL is not on an allowed host";
    return false;
  }
  return impl_->add(url, pem, now_s, error);
}

core::webhook_verdict paypal_webhooks::verify(const core::header_lookup& headers,
                                              std::string_view body, std::int64_t now_s) const {
  const auto& o = impl_->options;
  if (o.webhook_id.empty()) return {false, "not_configured"};
  auto get = [&](std::string_view name) { return std::string(headers(name).value_or("")); };
  auto id = get("PAYPAL-TRANSMISSION-ID");
  auto time = get("PAYPAL-TRANSMISSION-TIME");
  auto sig = get("PAYPAL-TRANSMISSION-SIG");
  auto cert_url = get("PAYPAL-CERT-URL");
  auto algo = get("PAYPAL-AUTH-ALGO");
  if (id.empty() || time.empty() || sig.empty() || cert_url.empty())
    return {false, "missing_header"};
  if (!algo.empty() && algo != "SHA256withRSA") return {false, "unsupported_algorithm"};
  auto t = parse_paypal_time(time);
  if (!t) return {false, "bad_time"};
  if (*t < now_s - o.tolerance_s || *t > now_s + o.tolerance_s) return {false, "stale"};

  if (o.verify == paypal_verification::api) {
    rapidjson::Document doc;
    if (net::parse_json_object(body, doc) != net::json_error::none) return {false, "malformed"};
    net::json_writer w;
    w.begin_object();
    w.field("auth_algo", algo.empty() ? std::string("SHA256withRSA") : algo);
    w.field("cert_url", cert_url);
    w.field("transmission_id", id);
    w.field("transmission_sig", sig);
    w.field("transmission_time", time);
    w.field("webhook_id", o.webhook_id);
    w.key("webhook_event");
    w.raw(body);  // byte for byte: PayPal checks the event as it sent it
    w.end_object();
    auto promise = std::make_shared<std::promise<core::psp_outcome<bool>>>();
    auto answer = promise->get_future();
    impl_->api->verify_webhook_signature(
        w.take(), core::limits::paypal_webhook_fetch_timeout_ms,
        [promise](core::psp_outcome<bool> o) { promise->set_value(std::move(o)); });
    if (answer.wait_for(std::chrono::milliseconds(core::limits::paypal_webhook_fetch_timeout_ms +
                                                  500)) != std::future_status::ready)
      return {false, "verification_unavailable"};
    auto got = answer.get();
    if (std::holds_alternative<core::psp_failure>(got)) return {false, "verification_unavailable"};
    return std::get<bool>(got) ? core::webhook_verdict{true, "ok"}
                               : core::webhook_verdict{false, "no_matching_signature"};
  }

  if (!impl_->url_allowed(cert_url)) return {false, "cert_url_not_allowed"};
  auto signature = core::base64_decode(sig);
  if (!signature || signature->empty()) return {false, "malformed_signature"};
  auto cert = impl_->certificate(cert_url);
  if (!cert) return {false, "cert_unavailable"};
  if (!impl::valid_at(cert.get(), now_s)) return {false, "cert_invalid"};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(X509_get_pubkey(cert.get()),
                                                          EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!key || !md) return {false, "cert_invalid"};
  auto signed_text = paypal_signed_string(id, time, o.webhook_id, body);
  bool ok = EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                             signature->size(),
                             reinterpret_cast<const unsigned char*>(signed_text.data()),
                             signed_text.size()) == 1;
  if (!ok) return {false, "no_matching_signature"};
  return {true, "ok"};
}

std::string_view paypal_webhooks::signature_header() const {
  return "PAYPAL-TRANSMISSION-SIG";
}

std::vector<core::psp_event> paypal_webhooks::parse(std::string_view body) const {
  std::vector<core::psp_event> out;
  if (auto e = parse_paypal_event(body)) out.push_back(std::move(*e));
  return out;
}

core::webhook_answer paypal_webhooks::accepted(std::size_t, std::size_t) const {
  core::webhook_answer a;
  a.status = 200;
  a.content_type = "application/json";
  a.body = "{}";
  return a;
}

}  // namespace pay::psp
