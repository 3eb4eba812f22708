// An Adyen notification batch (psp/adyen/). Every input is given to the
// verifier and the parser as a body: neither may crash. Then the input's
// first eight lines, taken as one item's eight signed fields (the fifth,
// amount.value, read as a number), are written as a batch and signed with
// the key: it must verify whenever every field is text the engine accepts,
// and fail once its signature is changed.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.hpp"
#include "net/json.hpp"
#include "psp/adyen/adyen_webhooks.hpp"

namespace {

constexpr std::string_view key_hex =
    "3F8B2A6C1D9E4F70A5B3C2D1E0F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1";

std::vector<std::string_view> lines(std::string_view input, std::size_t n) {
  std::vector<std::string_view> out;
  while (out.size() < n) {
    auto nl = input.find('\n');
    out.push_back(input.substr(0, nl));
    input = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
  }
  return out;
}

std::string batch(const pay::psp::adyen_signed_fields& f, std::string_view signature) {
  pay::net::json_writer w;
  w.begin_object();
  w.field("live", "false");
  w.key("notificationItems");
  w.begin_array();
  w.begin_object();
  w.key("NotificationRequestItem");
  w.begin_object();
  w.field("pspReference", f.psp_reference);
  w.field("originalReference", f.original_reference);
  w.field("merchantAccountCode", f.merchant_account);
  w.field("merchantReference", f.merchant_reference);
  w.key("amount");
  w.begin_object();
  w.field("value", f.value);
  w.field("currency", f.currency);
  w.end_object();
  w.field("eventCode", f.event_code);
  w.field("success", f.success);
  w.key("additionalData");
  w.begin_object();
  w.field("hmacSignature", signature);
  w.end_object();
  w.end_object();
  w.end_object();
  w.end_array();
  w.end_object();
  return w.take();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const pay::psp::adyen_webhooks webhooks({std::string(key_hex)}, false);
  const pay::core::header_lookup no_headers = [](std::string_view) {
    return std::optional<std::string_view>{};
  };
  constexpr std::int64_t now_s = 1'700'000'000;
  (void)webhooks.verify(no_headers, input, now_s);
  (void)webhooks.parse(input);

  auto l = lines(input, 8);
  pay::psp::adyen_signed_fields f{
      std::string(l[0]), std::string(l[1]), std::string(l[2]), std::string(l[3]), 0,
      std::string(l[5]), std::string(l[6]), std::string(l[7])};
  std::from_chars(l[4].data(), l[4].data() + l[4].size(), f.value);
  auto signature = pay::psp::adyen_hmac_signature(key_hex, pay::psp::adyen_signing_string(f));
  auto body = batch(f, signature);
  bool text_ok = true;
  for (const auto* s : {&f.psp_reference, &f.original_reference, &f.merchant_account,
                        &f.merchant_reference, &f.currency, &f.event_code, &f.success})
    text_ok = text_ok && pay::core::check_text(*s) == pay::core::text_verdict::ok;
  auto verdict = webhooks.verify(no_headers, body, now_s);
  if (text_ok && !verdict.ok) __builtin_trap();
  (void)webhooks.parse(body);

  // One changed character of the signature is refused.
  signature[0] = signature[0] == 'A' ? 'B' : 'A';
  if (webhooks.verify(no_headers, batch(f, signature), now_s).ok) __builtin_trap();
  return 0;
}
