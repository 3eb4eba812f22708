#include "psp/stripe/webhook_signature.hpp"

#include <cassert>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "core/crypto.hpp"

namespace pay::psp {

using core::constant_time_equal;
using core::hmac_sha256_hex;

namespace {

/// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s) {
  const auto is_space = [](char ch) { return ch == ' ' || ch == '\t'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// `s` as a non-negative decimal integer, digits only, or nothing.
std::optional<std::int64_t> parse_unix_seconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string compute_stripe_signature(std::string_view secret, std::int64_t timestamp_s,
                                     std::string_view payload) {
  std::string signed_payload = std::to_string(timestamp_s);
  signed_payload += '.';
  signed_payload += payload;
  return hmac_sha256_hex(secret, signed_payload);
}

std::string make_stripe_signature_header(std::span<const std::string> secrets,
                                         std::int64_t timestamp_s, std::string_view payload) {
  std::string header = "t=" + std::to_string(timestamp_s);
  for (const auto& secret : secrets) {
    header += ",v1=";
    header += compute_stripe_signature(secret, timestamp_s, payload);
  }
  return header;
}

std::string_view to_string(signature_verdict verdict) {
  switch (verdict) {
    case signature_verdict::ok:
      return "ok";
    case signature_verdict::missing_header:
      return "missing_header";
    case signature_verdict::malformed_header:
      return "malformed_header";
    case signature_verdict::no_v1_signature:
      return "no_v1_signature";
    case signature_verdict::timestamp_outside_tolerance:
      return "timestamp_outside_tolerance";
    case signature_verdict::no_matching_signature:
      return "no_matching_signature";
  }
  std::fprintf(stderr, "pay::core: invalid signature_verdict %d\n", static_cast<int>(verdict));
  std::abort();
}

signature_verdict verify_stripe_signature(std::string_view header, std::string_view payload,
                                          std::span<const std::string> secrets, std::int64_t now_s,
                                          std::int64_t tolerance_s) {
  assert(tolerance_s >= 0);
  if (trim(header).empty()) return signature_verdict::missing_header;

  std::optional<std::int64_t> timestamp_s;
  std::vector<std::string_view> v1_signatures;
  while (true) {
    const auto comma = header.find(',');
    const auto item = trim(header.substr(0, comma));
    if (!item.empty()) {
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) return signature_verdict::malformed_header;
      const auto key = trim(item.substr(0, eq));
      const auto value = trim(item.substr(eq + 1));
      if (key == "t") {
        if (timestamp_s) return signature_verdict::malformed_header;
        timestamp_s = parse_unix_seconds(value);
        if (!timestamp_s) return signature_verdict::malformed_header;
      } else if (key == "v1") {
        if (v1_signatures.size() == core::limits::webhook_signatures_max) {
          return signature_verdict::malformed_header;
        }
        v1_signatures.push_back(value);
      }
      // Other schemes (v0, future ones) are ignored, as Stripe's libraries do.
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }

  if (!timestamp_s) return signature_verdict::malformed_header;
  if (v1_signatures.empty()) return signature_verdict::no_v1_signature;

  std::int64_t age_s = 0;
  if (__builtin_sub_overflow(now_s, *timestamp_s, &age_s) || age_s > tolerance_s ||
      age_s < -tolerance_s) {
    return signature_verdict::timestamp_outside_tolerance;
  }

  for (const auto& secret : secrets) {
    const auto expected = compute_stripe_signature(secret, *timestamp_s, payload);
    for (const auto candidate : v1_signatures) {
      if (constant_time_equal(expected, candidate)) return signature_verdict::ok;
    }
  }
  return signature_verdict::no_matching_signature;
}

}  // namespace pay::psp
