#include "net/form.hpp"

#include "net/http_types.hpp"

namespace pay::net {

std::optional<form_fields> parse_form(std::string_view body) {
  form_fields out;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value =
        percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

std::string encode_form(const form_fields& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out.push_back('&');
    // Keep '[' and ']' readable in keys; encode every other reserved byte.
    std::string encoded_key = percent_encode(key);
    for (std::size_t pos = 0; (pos = encoded_key.find('%', pos)) != std::string::npos;) {
      auto code = encoded_key.substr(pos + 1, 2);
      if (code == "5B")
        encoded_key.replace(pos, 3, "[");
      else if (code == "5D")
        encoded_key.replace(pos, 3, "]");
      else
        pos += 3;
    }
    out += encoded_key;
    out.push_back('=');
    out += percent_encode(value);
  }
  return out;
}

}  // namespace pay::net
