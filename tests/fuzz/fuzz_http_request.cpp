// The request head as the server reads it: up to the first blank line, then
// the raw-head check, Beast's parser with the server's header limit, and the
// parsed-head checks (net/http_head.hpp, called by net/http_server.cpp).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/limits.hpp"
#include "net/http_head.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto end = input.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;  // the server waits for more
  auto head = input.substr(0, end + 4);
  pay::net::http_request req;
  auto refused = pay::net::parse_request_head(head, pay::core::limits::http_header_bytes_max, req);
  if (!refused) {
    // What the routes then read of it must be well formed.
    if (req.method.empty() || req.target.empty()) __builtin_trap();
    (void)req.query_param("starting_after");
    (void)req.cookies("pay_visit");
  } else if (refused->status != 400 && refused->status != 431 && refused->status != 501) {
    __builtin_trap();
  }
  return 0;
}
