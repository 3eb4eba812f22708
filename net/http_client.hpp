#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/limits.hpp"
#include "net/http_types.hpp"

namespace pay::net {

/// An absolute http:// or https:// URL split into its parts.
struct url_parts {
  bool tls = false;
  std::string host;
  std::string port;    ///< "80"/"443" when not given
  std::string target;  ///< path and query, "/" when empty
};

/// Splits a URL; nullopt for anything but http(s)://host[:port][/path].
std::optional<url_parts> parse_url(std::string_view url);

/// One outgoing request.
struct client_request {
  std::string method = "GET";
  std::string url;  ///< absolute, http:// or https://
  std::vector<header> headers;
  std::string body;
  std::string content_type;  ///< empty: no Content-Type header
  std::int64_t timeout_ms = core::limits::psp_call_timeout_ms;
};

/// What happened: a transport failure (no answer, timeout, TLS) or an answer.
struct client_result {
  bool answered = false;  ///< false: connection, TLS or timeout failure
  bool timed_out = false;
  std::string error;  ///< transport error text when !answered
  http_response response;
};

/// TLS settings for https:// URLs. Certificate verification is always on; a
/// CA file may be added to trust a private CA in tests.
struct http_client_options {
  unsigned threads = 1;
  std::string ca_file;  ///< extra trusted CA (PEM), empty for the system store
  std::size_t response_body_bytes_max = core::limits::http_client_body_bytes_max;
};

/// An asynchronous HTTP/1.1 client on Boost.Beast with its own I/O threads.
/// Every request carries a deadline covering resolve, connect, TLS, write
/// and read. Callbacks run on the client's I/O threads and must not block.
class http_client {
 public:
  explicit http_client(http_client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req`; `done` is called exactly once.
  void async_send(client_request req, std::function<void(client_result)> done);

  /// Sends `req` and waits for the result (for tools, tests and threads that
  /// may block; never call it on an actor's or the server's thread).
  client_result send(client_request req);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace pay::net
