#include "psp/stripe/stripe_provider.hpp"

#include <memory>
#include <utility>

#include "psp/stripe/stripe_events.hpp"
#include "psp/stripe/webhook_signature.hpp"

namespace pay::psp {

/// psp/stripe/web/checkout.js, compiled in (psp/CMakeLists.txt).
std::string_view stripe_checkout_script();

namespace {

/// scheme://host[:port] of a URL; empty when it has no scheme.
std::string origin_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  auto path = url.find('/', scheme + 3);
  return std::string(url.substr(0, path));
}

core::checkout_frontend checkout_of(const stripe_provider_options& o) {
  core::checkout_frontend f;
  f.publishable_key = o.publishable_key;
  f.mount_script = stripe_checkout_script();
  switch (o.checkout_js) {
    case stripe_checkout_js::stripe:
      // Stripe's documented needs for Stripe.js and Elements.
      f.kind = "stripe";
      f.script_url = "https://js.stripe.com/v3/";
      f.script_src = {"https://js.stripe.com"};
      f.connect_src = {"https://api.stripe.com"};
      f.frame_src = {"https://js.stripe.com", "https://hooks.stripe.com"};
      return f;
    case stripe_checkout_js::sandbox:
      f.kind = "sandbox";
      f.origin = origin_of(o.sandbox_public_url);
      f.iframe_url = f.origin + "/js/iframe.html";
      if (!f.origin.empty()) {
        f.connect_src = {f.origin};
        f.frame_src = {f.origin};
      }
      return f;
  }
  return f;
}

}  // namespace

stripe_webhooks::stripe_webhooks(std::vector<std::string> secrets, std::int64_t tolerance_s)
    : secrets_(std::move(secrets)), tolerance_s_(tolerance_s) {}

bool stripe_webhooks::configured() const {
  return !secrets_.empty();
}

core::webhook_verdict stripe_webhooks::verify(const core::header_lookup& headers,
                                              std::string_view body, std::int64_t now_s) const {
  auto header = headers(signature_header()).value_or("");
  auto verdict = verify_stripe_signature(header, body, secrets_, now_s, tolerance_s_);
  return {verdict == signature_verdict::ok, std::string(to_string(verdict))};
}

std::string_view stripe_webhooks::signature_header() const {
  return "Stripe-Signature";
}

std::vector<core::psp_event> stripe_webhooks::parse(std::string_view body) const {
  std::vector<core::psp_event> out;
  if (auto event = parse_stripe_event(body)) out.push_back(std::move(*event));
  return out;
}

core::webhook_answer stripe_webhooks::accepted(std::size_t events, std::size_t duplicates) const {
  // Stripe reads only the status; the body helps whoever looks at the
  // delivery in Stripe's dashboard.
  core::webhook_answer a;
  a.body = std::string(R"({"received":true,"duplicate":)") +
           (events > 0 && duplicates == events ? "true" : "false") + "}";
  return a;
}

core::psp_provider make_stripe_provider(stripe_provider_options options) {
  core::psp_provider p;
  p.name = options.name;
  p.kind = "stripe";
  // Stripe cancels an uncaptured PaymentIntent after 7 days (online card
  // payments) with cancellation_reason "automatic".
  p.auth_window = core::authorization_window{
      7 * core::seconds_per_day, 0, "Stripe: uncaptured card payments are canceled after 7 days"};
  p.checkout = checkout_of(options);
  p.webhooks = std::make_shared<stripe_webhooks>(std::move(options.webhook_secrets),
                                                 options.webhook_tolerance_s);
  p.connector = std::make_shared<stripe_connector>(std::move(options.api));
  return p;
}

}  // namespace pay::psp
