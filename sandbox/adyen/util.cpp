#include "sandbox/adyen/util.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "sandbox/clock.hpp"

namespace pay::sandbox::adyen {

std::string new_psp_reference() {
  // random_token is base62; upper-casing keeps it uniform enough for
  // references (36 symbols, 16 of them: ~82 bits).
  auto token = core::random_token(16);
  for (char& c : token)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return token;
}

std::optional<int> currency_exponent(std::string_view currency) {
  static constexpr std::array<std::string_view, 15> zero = {"CVE", "DJF", "GNF", "IDR", "JPY",
                                                            "KMF", "KRW", "PYG", "RWF", "UGX",
                                                            "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::array<std::string_view, 7> three = {"BHD", "IQD", "JOD", "KWD",
                                                            "LYD", "OMR", "TND"};
  // Every other currency has 2 at Adyen; the ones the sandbox accepts:
  static constexpr std::array<std::string_view, 60> two = {
      "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK",
      "EGP", "EUR", "GBP", "GEL", "HKD", "HUF", "ILS", "INR", "ISK", "KES", "KZT", "MAD",
      "MXN", "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD",
      "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "UYU", "ZAR", "BDT", "BAM",
      "ALL", "AMD", "AZN", "BOB", "CRC", "DOP", "GTQ", "HNL", "JMD", "LKR", "MDL", "MKD"};
  for (auto c : zero)
    if (c == currency) return 0;
  for (auto c : three)
    if (c == currency) return 3;
  for (auto c : two)
    if (c == currency) return 2;
  return std::nullopt;
}

std::string major_units(std::int64_t minor, int exponent) {
  bool negative = minor < 0;
  auto digits = std::to_string(negative ? -minor : minor);
  if (exponent > 0) {
    if (digits.size() <= static_cast<std::size_t>(exponent))
      digits.insert(0, static_cast<std::size_t>(exponent) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<std::size_t>(exponent), ".");
  }
  return negative ? "-" + digits : digits;
}

namespace {
std::string format_utc(std::int64_t unix_s, const char* fmt) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  auto n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}
}  // namespace

std::string iso_time(std::int64_t unix_s) {
  return format_utc(unix_s, "%Y-%m-%dT%H:%M:%S+00:00");
}

std::string report_time(std::int64_t unix_s) {
  return format_utc(unix_s, "%Y-%m-%d %H:%M:%S");
}

std::int64_t now_s() {
  // The sandbox's one clock (sandbox/clock.hpp), test clock included.
  return clock::now_s();
}

std::optional<std::int64_t> parse_iso_time(std::string_view text) {
  std::string t(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, used = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
      used != 19)
    return std::nullopt;
  std::size_t pos = 19;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') ++pos;
  }
  std::int64_t offset_s = 0;
  auto rest = t.substr(pos);
  if (rest == "Z") {
    offset_s = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (rest[0] == '+' ? 1 : -1) * (oh * 3'600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm)) - offset_s;
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
             (static_cast<unsigned char>(bytes[i + 1]) << 8) |
             static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    auto n = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
             (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    auto pos = alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string signing_string(const signed_fields& f) {
  return f.psp_reference + ":" + f.original_reference + ":" + f.merchant_account + ":" +
         f.merchant_reference + ":" + std::to_string(f.value) + ":" + f.currency + ":" +
         f.event_code + ":" + f.success;
}

std::string hmac_signature(std::string_view key_hex, const signed_fields& f) {
  auto key = hex_decode(key_hex).value_or(std::string{});
  auto mac = hex_decode(core::hmac_sha256_hex(key, signing_string(f))).value_or(std::string{});
  return base64(mac);
}

}  // namespace pay::sandbox::adyen
