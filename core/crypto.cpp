#include "core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>

namespace pay::core {

namespace {

/// Stops the process: a hash that fails means OpenSSL itself is broken.
[[noreturn]] void crypto_failure(const char* what) {
  std::fprintf(stderr, "pay::core: OpenSSL %s failed\n", what);
  std::abort();
}

/// A pointer OpenSSL accepts even for an empty view, whose data() may be null.
const unsigned char* bytes_of(std::string_view s) {
  static constexpr unsigned char empty[1] = {0};
  return s.empty() ? empty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    const auto byte = static_cast<unsigned char>(ch);
    out += digits[byte >> 4];
    out += digits[byte & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes_of(data), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    crypto_failure("EVP_Digest(sha256)");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), bytes_of(key), static_cast<int>(key.size()), bytes_of(data), data.size(),
           mac, &size) == nullptr) {
    crypto_failure("HMAC(sha256)");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(mac), size));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pay::core
