// A Stripe webhook: the first line is the Stripe-Signature header, the rest
// the body. The signature check must hold for a correctly signed body
// whatever it holds, and event parsing must not crash on any body (the
// Stripe provider's own functions, psp/stripe/).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "psp/stripe/stripe_events.hpp"
#include "psp/stripe/webhook_signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto nl = input.find('\n');
  auto header = input.substr(0, nl);
  auto body = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
  const std::vector<std::string> secrets{"whsec_fuzz_secret_one", "whsec_fuzz_secret_two"};
  constexpr std::int64_t now_s = 1'700'000'000;
  (void)pay::psp::verify_stripe_signature(header, body, secrets, now_s);

  // The same body, signed properly, verifies.
  auto signed_payload = std::to_string(now_s) + "." + std::string(body);
  auto signature = pay::core::hmac_sha256_hex(secrets[1], signed_payload);
  auto good = "t=" + std::to_string(now_s) + ",v1=" + signature;
  if (pay::psp::verify_stripe_signature(good, body, secrets, now_s) !=
      pay::psp::signature_verdict::ok)
    __builtin_trap();

  (void)pay::psp::parse_stripe_event(body);
  return 0;
}
