#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// Plain HTTP request and response values shared by the server, the client and
/// every route. They hold no Beast types, so the many files that route and
/// answer requests never include Beast: only http_server.cpp and
/// http_client.cpp do.
namespace pay::net {

/// One header, name as received (lookups are case-insensitive).
using header = std::pair<std::string, std::string>;

/// A parsed HTTP/1.1 request, owned by value.
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< path and query as received
  std::string path;    ///< target without the query string
  std::string query;   ///< after '?', empty when absent
  std::vector<header> headers;
  std::string body;
  std::string remote_address;

  /// Returns the first header with this name (case-insensitive), if any.
  std::optional<std::string_view> header_value(std::string_view name) const;

  /// Returns the value of one query parameter, percent-decoded.
  std::optional<std::string> query_param(std::string_view name) const;

  /// Every value of the cookie `name` in the Cookie headers, in order (a
  /// browser may send several with one name, for different paths).
  std::vector<std::string_view> cookies(std::string_view name) const;
};

/// An HTTP response; the server adds Date, Server and Content-Length.
struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<header> headers;
  std::string body;

  /// Returns the first header with this name (case-insensitive), if any.
  std::optional<std::string_view> header_value(std::string_view name) const;
};

/// Completes one request. Call it exactly once, from any thread: the server
/// posts the response back onto the connection's strand.
using responder = std::function<void(http_response)>;

/// Routes one request. It must not block: hand the work on and call the
/// responder when the answer is ready.
using request_handler = std::function<void(http_request, responder)>;

/// Case-insensitive ASCII comparison, for header names.
bool iequals(std::string_view a, std::string_view b);

/// Decodes %XX and '+' (form and query encoding); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view in);

/// Encodes everything but unreserved characters (RFC 3986) as %XX.
std::string percent_encode(std::string_view in);

}  // namespace pay::net
