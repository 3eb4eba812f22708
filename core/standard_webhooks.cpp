#include "core/standard_webhooks.hpp"

#include <charconv>
#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/crypto.hpp"
#include "core/limits.hpp"

namespace pay::core {

namespace {

constexpr std::string_view secret_prefix = "whsec_";

std::string hmac_sha256_raw(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto* ok = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  if (ok == nullptr) std::abort();  // a broken OpenSSL, not an operating error
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string signed_content(std::string_view msg_id, std::int64_t timestamp_s,
                           std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + body.size() + 24);
  content.append(msg_id).append(".").append(std::to_string(timestamp_s)).append(".");
  content.append(body);
  return content;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()),
                           static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool pad = c == '=' && i >= text.size() - 2 && (i == text.size() - 1 || text.back() == '=');
    if (!alnum && c != '+' && c != '/' && !pad) return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(text.data()),
                           static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t pad = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::optional<std::string> standard_webhook_key(std::string_view secret) {
  if (!secret.starts_with(secret_prefix)) return std::nullopt;
  auto key = base64_decode(secret.substr(secret_prefix.size()));
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string make_standard_webhook_secret() {
  std::string bytes(limits::standard_webhook_key_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) !=
      1)
    std::abort();  // no randomness: nothing safe to do
  return std::string(secret_prefix) + base64_encode(bytes);
}

std::optional<std::string> standard_webhook_signature(std::string_view secret,
                                                      std::string_view msg_id,
                                                      std::int64_t timestamp_s,
                                                      std::string_view body) {
  auto key = standard_webhook_key(secret);
  if (!key) return std::nullopt;
  return "v1," + base64_encode(hmac_sha256_raw(*key, signed_content(msg_id, timestamp_s, body)));
}

std::string standard_webhook_signature_header(std::span<const std::string> secrets,
                                              std::string_view msg_id, std::int64_t timestamp_s,
                                              std::string_view body) {
  std::string header;
  for (const auto& secret : secrets) {
    auto sig = standard_webhook_signature(secret, msg_id, timestamp_s, body);
    if (!sig) continue;
    if (!header.empty()) header += ' ';
    header += *sig;
  }
  return header;
}

bool verify_standard_webhook(std::string_view secret, std::string_view msg_id,
                             std::string_view timestamp, std::string_view signature_header,
                             std::string_view body, std::int64_t now_s, std::int64_t tolerance_s) {
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) return false;
  if (ts < now_s - tolerance_s || ts > now_s + tolerance_s) return false;
  auto expected = standard_webhook_signature(secret, msg_id, ts, body);
  if (!expected) return false;
  std::size_t seen = 0;
  while (!signature_header.empty()) {
    auto space = signature_header.find(' ');
    auto item = signature_header.substr(0, space);
    signature_header =
        space == std::string_view::npos ? std::string_view{} : signature_header.substr(space + 1);
    if (item.empty()) continue;
    if (++seen > limits::webhook_signatures_max) return false;
    if (constant_time_equal(item, *expected)) return true;
  }
  return false;
}

}  // namespace pay::core
