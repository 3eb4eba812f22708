// application/x-www-form-urlencoded (Stripe's wire format): parsing never
// fails on valid escapes, and encoding then parsing gives the pairs back.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/form.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto fields = pay::net::parse_form(body);
  if (!fields) return 0;
  auto encoded = pay::net::encode_form(*fields);
  auto back = pay::net::parse_form(encoded);
  if (!back) __builtin_trap();
  // Empty pairs ("&&") are skipped on parsing; everything else round-trips.
  pay::net::form_fields expected;
  for (const auto& f : *fields)
    if (!(f.first.empty() && f.second.empty())) expected.push_back(f);
  pay::net::form_fields got;
  for (const auto& f : *back)
    if (!(f.first.empty() && f.second.empty())) got.push_back(f);
  if (got != expected) __builtin_trap();
  return 0;
}
