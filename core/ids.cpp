#include "core/ids.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace pay::core {

namespace {

/// Bytes at or above this are rejected: 248 = 4 * 62 is the largest multiple
/// of 62 that fits a byte, so `byte % 62` over [0, 248) has no modulo bias.
constexpr unsigned rejection_bound = 4 * 62;

static_assert(base62_alphabet.size() == 62);

/// Fills `out` with random bytes or aborts: without randomness the engine
/// would mint guessable ids and secrets, and must not go on.
void random_bytes_or_abort(unsigned char* out, int size) {
  if (RAND_bytes(out, size) != 1) {
    std::fputs("pay::core: RAND_bytes failed; refusing to mint ids without randomness\n", stderr);
    std::abort();
  }
}

/// Appends `count` uniformly random base62 characters to `out`.
void append_base62(std::string& out, std::size_t count) {
  out.reserve(out.size() + count);
  std::array<unsigned char, 64> buffer{};
  std::size_t used = buffer.size();
  while (count > 0) {
    if (used == buffer.size()) {
      random_bytes_or_abort(buffer.data(), static_cast<int>(buffer.size()));
      used = 0;
    }
    const unsigned byte = buffer[used++];
    if (byte >= rejection_bound) continue;
    out += base62_alphabet[byte % 62];
    --count;
  }
}

}  // namespace

std::string make_id(std::string_view prefix) {
  std::string id;
  id.reserve(prefix.size() + 1 + id_random_chars);
  id += prefix;
  id += '_';
  append_base62(id, id_random_chars);
  return id;
}

bool has_prefix(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 1 + id_random_chars) return false;
  if (!id.starts_with(prefix) || id[prefix.size()] != '_') return false;
  for (char ch : id.substr(prefix.size() + 1)) {
    if (!is_base62(ch)) return false;
  }
  return true;
}

std::string random_token(std::size_t length) {
  std::string token;
  append_base62(token, length);
  return token;
}

}  // namespace pay::core
