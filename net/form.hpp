#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// application/x-www-form-urlencoded, as Stripe's API speaks it:
/// `amount=100&metadata[order]=7&payment_method_types[0]=card`, with the
/// brackets raw or percent-encoded.
namespace pay::net {

/// Decoded pairs in the order received; keys keep their brackets.
using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Parses a form body; nullopt on a bad percent escape.
std::optional<form_fields> parse_form(std::string_view body);

/// Encodes pairs; brackets in keys stay readable, as Stripe's libraries send
/// them, everything else unreserved is percent-encoded.
std::string encode_form(const form_fields& fields);

}  // namespace pay::net
