#include "core/idempotency.hpp"

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/limits.hpp"

namespace pay::core {

std::string_view to_string(recovery_point point) {
  switch (point) {
    case recovery_point::started:
      return "started";
    case recovery_point::psp_requested:
      return "psp_requested";
    case recovery_point::psp_called:
      return "psp_called";
    case recovery_point::finished:
      return "finished";
  }
  std::fprintf(stderr, "pay::core: invalid recovery_point %d\n", static_cast<int>(point));
  std::abort();
}

std::optional<recovery_point> parse_recovery_point(std::string_view name) {
  for (auto point : all_recovery_points) {
    if (to_string(point) == name) return point;
  }
  return std::nullopt;
}

std::string_view to_string(operation_kind kind) {
  switch (kind) {
    case operation_kind::create:
      return "create";
    case operation_kind::capture:
      return "capture";
    case operation_kind::cancel:
      return "cancel";
    case operation_kind::refund:
      return "refund";
  }
  std::fprintf(stderr, "pay::core: invalid operation_kind %d\n", static_cast<int>(kind));
  std::abort();
}

std::optional<operation_kind> parse_operation_kind(std::string_view name) {
  for (auto kind : {operation_kind::create, operation_kind::capture, operation_kind::cancel,
                    operation_kind::refund}) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

const std::string& instance_id() {
  static const std::string id = [] {
    std::string out = "paymentsd:" + std::to_string(::getpid()) + ":";
    out += random_token(12);
    return out;
  }();
  return id;
}

std::string request_fingerprint(std::string_view method, std::string_view path,
                                std::string_view canonical_body) {
  std::string material;
  material.reserve(method.size() + path.size() + canonical_body.size() + 2);
  material += method;
  material += '\n';
  material += path;
  material += '\n';
  material += canonical_body;
  return sha256_hex(material);
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > limits::idempotency_key_length_max) return false;
  for (char ch : key) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x21 || byte > 0x7e) return false;
  }
  return true;
}

}  // namespace pay::core
