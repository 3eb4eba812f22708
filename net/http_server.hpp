#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/limits.hpp"
#include "net/http_types.hpp"

namespace pay::net {

/// Renders a transport-level error (bad request, body too large, timeout) in
/// the owning program's error shape.
using error_renderer =
    std::function<http_response(int status, std::string_view code, std::string_view message)>;

/// Where and how the server listens; every limit named and explicit.
struct http_server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0 picks a free port; see http_server::port()
  unsigned threads = 2;
  std::size_t body_bytes_max = core::limits::http_body_bytes_max;
  std::size_t header_bytes_max = core::limits::http_header_bytes_max;
  std::int64_t request_deadline_ms = core::limits::http_request_deadline_ms;
  std::int64_t idle_timeout_ms = core::limits::http_idle_timeout_ms;
  std::size_t connections_max = core::limits::http_connections_max;
  /// Connections one client address may hold; beyond it, new ones from that
  /// address are closed at once while other addresses are still served.
  std::size_t connections_per_address_max = core::limits::http_connections_per_address_max;
  /// Time to send a complete request head, from the connection's first byte
  /// wait (a new connection) or from the first byte of a kept-alive one's
  /// next request; the idle timeout governs the wait between requests.
  std::int64_t header_deadline_ms = core::limits::http_header_deadline_ms;
  std::string server_name = "payments";
  /// PEM files of the certificate (chain) and private key; both set: the
  /// listener speaks TLS 1.2+ only and answers carry HSTS.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// Builds the body of transport errors; the default is the shared
  /// {"error":{"type","code","message"}} shape.
  error_renderer render_error;
};

/// An HTTP/1.1 server on Boost.Beast: keep-alive, pipelined requests answered
/// in order, a deadline per request, body and header limits, and a graceful
/// stop that finishes in-flight requests. Requests are handed to a
/// non-blocking handler; its responder may be called from any thread.
class http_server {
 public:
  http_server(http_server_options options, request_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds, listens and starts the I/O threads. Returns an error message on
  /// failure (address in use, bad address), empty on success.
  std::string start();

  /// The bound port (useful with port 0).
  std::uint16_t port() const;

  /// Stops accepting, lets in-flight requests finish for at most drain_ms,
  /// closes idle connections, then joins the I/O threads. Idempotent.
  void stop(std::int64_t drain_ms = core::limits::http_drain_ms);

  /// Requests being handled right now.
  std::size_t requests_in_flight() const;

  /// Open connections right now.
  std::size_t connections_open() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

/// The default transport error body: {"error":{"type","code","message"}}.
http_response default_error_response(int status, std::string_view code, std::string_view message);

}  // namespace pay::net
