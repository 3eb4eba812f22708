// A PayPal webhook delivery (psp/paypal/, offline verification): the input
// is header lines ("Name: value") up to an empty line, then the body. The
// verifier and the parser must not crash on it as delivered. Then the same
// body, signed as PayPal signs (CRC-32 of the body, RSA-SHA256 by the
// sandbox PSP's key, whose certificate the verifier holds for its URL),
// must verify, and must fail once the body changes.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "psp/paypal/paypal_time.hpp"
#include "psp/paypal/paypal_webhooks.hpp"
#include "sandbox/paypal/util.hpp"

namespace {

constexpr std::string_view webhook_id = "WH-FUZZ-0000000001";
// A host with nothing listening: a certificate URL the verifier has not
// cached fails at once instead of reaching the network.
const std::string cert_url = "http://127.0.0.1:9/v1/notifications/certs/CERT-FUZZ";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct world {
  std::int64_t now_s = static_cast<std::int64_t>(std::time(nullptr));
  pay::sandbox::paypal::signing_key key;
  std::unique_ptr<pay::psp::paypal_webhooks> webhooks;
  world() {
    pay::psp::paypal_webhook_options o;
    o.webhook_id = std::string(webhook_id);
    o.cert_hosts = {"http://127.0.0.1:9"};
    o.cert_chain_check = false;  // the sandbox's certificate is self-signed
    o.cert_cn_suffix = ".simulator.invalid";
    webhooks = std::make_unique<pay::psp::paypal_webhooks>(o, nullptr);
    std::string error;
    if (!webhooks->add_certificate(cert_url, key.certificate_pem(), now_s, error)) __builtin_trap();
  }
};

pay::core::header_lookup lookup(const std::map<std::string, std::string>& headers) {
  return [&headers](std::string_view name) -> std::optional<std::string_view> {
    auto it = headers.find(lower(name));
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const world w;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> headers;
  while (!input.empty()) {
    auto nl = input.find('\n');
    auto line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers[lower(line.substr(0, colon))] = std::string(value);
  }
  const std::string body(input);
  (void)w.webhooks->verify(lookup(headers), body, w.now_s);
  (void)w.webhooks->parse(body);

  const std::string id = "fuzz-transmission-0001";
  const std::string time = pay::psp::format_paypal_time(w.now_s);
  std::map<std::string, std::string> good{
      {"paypal-transmission-id", id},
      {"paypal-transmission-time", time},
      {"paypal-cert-url", cert_url},
      {"paypal-auth-algo", "SHA256withRSA"},
      {"paypal-transmission-sig",
       w.key.sign(pay::psp::paypal_signed_string(id, time, webhook_id, body))}};
  auto verdict = w.webhooks->verify(lookup(good), body, w.now_s);
  if (!verdict.ok) __builtin_trap();
  if (w.webhooks->verify(lookup(good), body + " ", w.now_s).ok) __builtin_trap();
  return 0;
}
