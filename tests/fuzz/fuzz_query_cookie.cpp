// Query strings and Cookie headers: the first line is the query, the rest
// the Cookie header's value.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto nl = input.find('\n');
  pay::net::http_request req;
  req.query = std::string(input.substr(0, nl));
  if (nl != std::string_view::npos)
    req.headers.emplace_back("Cookie", std::string(input.substr(nl + 1)));
  for (const char* name : {"limit", "starting_after", "payment_intent", ""}) {
    if (auto v = req.query_param(name)) {
      // A decoded value is never longer than its encoding.
      if (v->size() > req.query.size()) __builtin_trap();
    }
  }
  for (auto v : req.cookies("pay_visit"))
    if (v.data() < req.headers[0].second.data() ||
        v.data() + v.size() > req.headers[0].second.data() + req.headers[0].second.size())
      __builtin_trap();
  auto decoded = pay::net::percent_decode(req.query);
  if (decoded) {
    auto encoded = pay::net::percent_encode(*decoded);
    auto back = pay::net::percent_decode(encoded);
    if (!back || *back != *decoded) __builtin_trap();
  }
  return 0;
}
