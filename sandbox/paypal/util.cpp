#include "sandbox/paypal/util.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "sandbox/adyen/util.hpp"

namespace pay::sandbox::paypal {

std::string new_id(std::size_t length) {
  auto token = core::random_token(length);
  for (char& c : token)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return token;
}

std::string new_uuid() {
  auto hex = core::sha256_hex(core::random_token(32)).substr(0, 32);
  hex[12] = '4';
  hex[16] = "89ab"[static_cast<unsigned char>(hex[16]) % 4];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::optional<int> currency_exponent(std::string_view currency) {
  // PayPal's supported currencies (its currency codes page); three take no
  // decimals at PayPal, whatever ISO 4217 says about HUF and TWD.
  static constexpr std::array<std::string_view, 3> zero = {"HUF", "JPY", "TWD"};
  static constexpr std::array<std::string_view, 22> two = {
      "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "ILS", "MYR", "MXN",
      "NZD", "NOK", "PHP", "PLN", "GBP", "RUB", "SGD", "SEK", "CHF", "THB", "USD"};
  for (auto c : zero)
    if (c == currency) return 0;
  for (auto c : two)
    if (c == currency) return 2;
  return std::nullopt;
}

std::string_view issue_name(amount_issue issue) {
  switch (issue) {
    case amount_issue::none:
      return "";
    case amount_issue::invalid_syntax:
      return "INVALID_PARAMETER_SYNTAX";
    case amount_issue::decimal_precision:
      return "DECIMAL_PRECISION";
    case amount_issue::decimals_not_supported:
      return "DECIMALS_NOT_SUPPORTED";
    case amount_issue::currency_not_supported:
      return "CURRENCY_NOT_SUPPORTED";
    case amount_issue::amount_too_large:
      return "MAX_VALUE_EXCEEDED";
  }
  return "";
}

std::optional<std::int64_t> parse_amount(std::string_view value, std::string_view currency,
                                         amount_issue& issue) {
  issue = amount_issue::none;
  // PayPal's pattern ^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$, at most 32 characters.
  constexpr std::size_t value_length_max = 32;
  auto exponent = currency_exponent(currency);
  if (!exponent) {
    issue = amount_issue::currency_not_supported;
    return std::nullopt;
  }
  if (value.empty() || value.size() > value_length_max) {
    issue = amount_issue::invalid_syntax;
    return std::nullopt;
  }
  bool negative = value.front() == '-';
  if (negative) value.remove_prefix(1);
  auto dot = value.find('.');
  auto whole = value.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view{} : value.substr(dot + 1);
  auto digits = [](std::string_view s) {
    for (char c : s)
      if (c < '0' || c > '9') return false;
    return true;
  };
  if (!digits(whole) || !digits(fraction) || (whole.empty() && fraction.empty()) ||
      (dot != std::string_view::npos && fraction.empty())) {
    issue = amount_issue::invalid_syntax;
    return std::nullopt;
  }
  if (*exponent == 0 && dot != std::string_view::npos) {
    issue = amount_issue::decimals_not_supported;
    return std::nullopt;
  }
  if (fraction.size() > static_cast<std::size_t>(*exponent)) {
    issue = amount_issue::decimal_precision;
    return std::nullopt;
  }
  // Leading zeros are harmless; 13 significant digits already pass the cap.
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  if (whole.size() > 13) {
    issue = amount_issue::amount_too_large;
    return std::nullopt;
  }
  std::int64_t minor = 0;
  for (char c : whole) minor = minor * 10 + (c - '0');
  for (int i = 0; i < *exponent; ++i) {
    minor *= 10;
    if (static_cast<std::size_t>(i) < fraction.size())
      minor += fraction[static_cast<std::size_t>(i)] - '0';
  }
  if (minor > amount_minor_max) {
    issue = amount_issue::amount_too_large;
    return std::nullopt;
  }
  return negative ? -minor : minor;
}

std::string format_amount(std::int64_t minor, std::string_view currency) {
  return adyen::major_units(minor, currency_exponent(currency).value_or(2));
}

std::int64_t fee_minor(std::int64_t minor, std::string_view currency) {
  // PayPal's standard rate for PayPal checkout: 3.49 % plus a fixed fee
  // per currency (0.49 in most; 40 JPY, 90 HUF, 10 TWD, which have no
  // decimals).
  constexpr std::int64_t fee_percent_bp = 349;
  std::int64_t fixed = 49;
  if (currency == "JPY") fixed = 40;
  if (currency == "HUF") fixed = 90;
  if (currency == "TWD") fixed = 10;
  return (minor * fee_percent_bp + 5'000) / 10'000 + fixed;
}

std::string rfc3339(std::int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::uint32_t crc32(std::string_view bytes) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string signed_string(std::string_view transmission_id, std::string_view transmission_time,
                          std::string_view webhook_id, std::string_view body) {
  return std::string(transmission_id) + "|" + std::string(transmission_time) + "|" +
         std::string(webhook_id) + "|" + std::to_string(crc32(body));
}

// ---------------------------------------------------------------- the key

struct signing_key::impl {
  EVP_PKEY* key = nullptr;
  ~impl() { EVP_PKEY_free(key); }
};

namespace {

/// OpenSSL failing to make a key or a certificate means a broken library:
/// the sandbox cannot sign webhooks at all, so it stops at start.
[[noreturn]] void openssl_failed(const char* what) {
  throw std::runtime_error(std::string("OpenSSL failed: ") + what);
}

}  // namespace

signing_key::signing_key() : impl_(std::make_unique<impl>()) {
  constexpr unsigned rsa_bits = 2048;
  constexpr long validity_s = 10L * 365 * 24 * 3600;
  impl_->key = EVP_RSA_gen(rsa_bits);
  if (impl_->key == nullptr) openssl_failed("EVP_RSA_gen");
  X509* cert = X509_new();
  if (cert == nullptr) openssl_failed("X509_new");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(crc32(new_id(16)) & 0x7FFFFFFF));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), validity_s);
  X509_set_pubkey(cert, impl_->key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("US"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("psp-sandbox"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("messageverificationcerts.simulator.invalid"), -1, -1,
      0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, impl_->key, EVP_sha256()) == 0) {
    X509_free(cert);
    openssl_failed("X509_sign");
  }
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_X509(bio, cert) != 1) {
    BIO_free(bio);
    X509_free(cert);
    openssl_failed("PEM_write_bio_X509");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  cert_pem_.assign(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  X509_free(cert);
}

signing_key::~signing_key() = default;

std::string signing_key::sign(std::string_view data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) openssl_failed("EVP_MD_CTX_new");
  std::size_t length = 0;
  std::string sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  if (ok) {
    sig.resize(length);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &length,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    sig.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) openssl_failed("EVP_DigestSign");
  return adyen::base64(sig);
}

bool signing_key::verify(std::string_view data, std::string_view signature_b64) const {
  auto sig = adyen::base64_decode(signature_b64);
  if (!sig || sig->empty()) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) openssl_failed("EVP_MD_CTX_new");
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace pay::sandbox::paypal
