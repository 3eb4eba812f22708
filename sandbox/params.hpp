#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/form.hpp"

/// Request parameters as Stripe's form encoding carries them:
/// `amount=100&metadata[order]=7&payment_method_types[0]=card`.
namespace pay::sandbox {

class params {
 public:
  params() = default;
  explicit params(net::form_fields fields) : fields_(std::move(fields)) {}

  /// The value of a scalar parameter (the key exactly, brackets included).
  std::optional<std::string> get(std::string_view key) const;

  /// The top-level names (before any '['), in order, each once.
  std::vector<std::string> top_level_names() const;

  /// Pairs `name[k]=v` as (k, v), in order; keys with deeper nesting are
  /// returned whole after the first bracket ("card][number").
  std::vector<std::pair<std::string, std::string>> nested(std::string_view name) const;

  /// Values of `name[0]`, `name[1]`, ... or `name[]`, in order.
  std::vector<std::string> list(std::string_view name) const;

  /// The first top-level name not in `allowed`, if any.
  std::optional<std::string> first_unknown(std::initializer_list<std::string_view> allowed) const;

  /// A canonical form (sorted pairs), for idempotency fingerprints.
  std::string canonical() const;

  const net::form_fields& fields() const { return fields_; }

 private:
  net::form_fields fields_;
};

}  // namespace pay::sandbox
