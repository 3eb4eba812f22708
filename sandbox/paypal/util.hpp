#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

/// Small pieces of PayPal's formats: ids, currencies and decimal amounts,
/// times, CRC-32 and the webhook signing key with its self-signed
/// certificate. Written for the PayPal mode of the sandbox only.
namespace pay::sandbox::paypal {

/// A new PayPal-style id: `length` upper-case letters and digits
/// ("5O190127TN364715T" has 17).
std::string new_id(std::size_t length = 17);

/// A random RFC 4122 version 4 UUID, lower case.
std::string new_uuid();

/// The number of decimals PayPal takes for a currency it supports (0 for
/// HUF, JPY and TWD, 2 for the rest); nullopt for one it does not support.
std::optional<int> currency_exponent(std::string_view currency);

/// Why a decimal amount string was refused; the names are PayPal's issues.
enum class amount_issue {
  none,
  invalid_syntax,          ///< not ^-?[0-9]+(.[0-9]+)?$ or longer than 32 characters
  decimal_precision,       ///< more decimals than the currency's exponent (2)
  decimals_not_supported,  ///< any decimal for a currency with exponent 0
  currency_not_supported,  ///< PayPal does not support the currency
  amount_too_large,        ///< above amount_minor_max
};

/// The issue name PayPal answers ("DECIMAL_PRECISION", ...).
std::string_view issue_name(amount_issue issue);

/// Parses a decimal string of `currency` to minor units, exactly; negative
/// values parse (callers decide whether they are allowed).
std::optional<std::int64_t> parse_amount(std::string_view value, std::string_view currency,
                                         amount_issue& issue);

/// Minor units as PayPal's decimal string for the currency ("25.99", "1500").
std::string format_amount(std::int64_t minor, std::string_view currency);

/// The largest amount the sandbox takes, in minor units: fees are computed
/// as amount * basis points in 64 bits, which this keeps far from overflow.
inline constexpr std::int64_t amount_minor_max = 1'000'000'000'000;

/// PayPal's fee for receiving `minor` of `currency`: 3.49 % (rounded half
/// up to the currency's exponent) plus a fixed fee in the currency.
std::int64_t fee_minor(std::int64_t minor, std::string_view currency);

/// "2024-06-01T12:34:56Z" for a unix time in seconds.
std::string rfc3339(std::int64_t unix_s);

/// CRC-32 (IEEE 802.3, zlib's) of `bytes`.
std::uint32_t crc32(std::string_view bytes);

/// The string PayPal signs for a webhook delivery:
/// "<transmission id>|<transmission time>|<webhook id>|<unsigned decimal CRC-32 of the body>".
std::string signed_string(std::string_view transmission_id, std::string_view transmission_time,
                          std::string_view webhook_id, std::string_view body);

/// An RSA-2048 key pair made at start (OpenSSL 3 EVP) and a self-signed
/// X.509 certificate of its public key, CN
/// messageverificationcerts.simulator.invalid, valid ten years from now.
class signing_key {
 public:
  signing_key();
  ~signing_key();
  signing_key(const signing_key&) = delete;
  signing_key& operator=(const signing_key&) = delete;

  /// The certificate as PEM text.
  const std::string& certificate_pem() const { return cert_pem_; }

  /// base64(RSASSA-PKCS1-v1_5 SHA-256 signature of `data`).
  std::string sign(std::string_view data) const;

  /// True when base64 `signature` is this key's signature of `data`.
  bool verify(std::string_view data, std::string_view signature_b64) const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
  std::string cert_pem_;
};

}  // namespace pay::sandbox::paypal
