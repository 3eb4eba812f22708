#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/http_types.hpp"

/// The checks the server makes on a request head beyond what Beast's parser
/// enforces, in one place so the fuzz target (tests/fuzz) runs exactly what
/// the server runs. Beast types appear here, so only http_server.cpp and the
/// fuzz target include this header.
namespace pay::net {

/// Why a request head is refused: the status and the error code to answer.
struct head_refusal {
  int status;
  std::string_view code;
  std::string_view message;
};

/// Checks the raw head (request line to the blank line): obsolete line
/// folding (a field line starting with a space or tab) is refused, as RFC
/// 9112 allows; parsers that unfold differently are how smuggling starts.
std::optional<head_refusal> check_raw_head(std::string_view head);

/// Checks a parsed head: one Authorization and one Host at most (two would
/// be read one way here and another by a proxy), and no transfer coding but
/// a single `chunked` (anything else is 501, RFC 9112 section 6.1).
std::optional<head_refusal> check_parsed_head(
    const boost::beast::http::request<boost::beast::http::string_body>& req);

/// Parses `head` (a complete head, ending with CRLF CRLF) the way the server
/// does: Beast's request parser with `header_bytes_max`, then both checks.
/// On success, `out` receives method, target, path, query and headers.
std::optional<head_refusal> parse_request_head(std::string_view head, std::size_t header_bytes_max,
                                               http_request& out);

/// Copies a parsed Beast request's head into `out` (no body).
void copy_head(const boost::beast::http::request<boost::beast::http::string_body>& req,
               http_request& out);

}  // namespace pay::net
