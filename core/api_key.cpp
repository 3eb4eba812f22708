#include "core/api_key.hpp"

#include "core/crypto.hpp"
#include "core/ids.hpp"

namespace pay::core {

std::string hash_api_key(std::string_view key) {
  return sha256_hex(key);
}

std::string make_secret_key() {
  std::string key(secret_key_prefix);
  key += random_token(secret_key_random_chars);
  return key;
}

}  // namespace pay::core
