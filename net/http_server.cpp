// The only translation unit of the server that includes Beast; it is heavy to
// compile, so everything else speaks net/http_types.hpp.
#include "net/http_server.hpp"

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/http_head.hpp"
#include "net/json.hpp"

namespace pay::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

/// What the server and the listener know of a connection, whatever its
/// stream (plain TCP or TLS).
class session {
 public:
  virtual ~session() = default;
  virtual void run() = 0;
  /// Called on shutdown: an idle connection closes now, a busy one after its
  /// answer is written. With `force`, a busy one closes too (drain expired).
  virtual void shutdown(bool force) = 0;
};

/// Everything the listener and the sessions share. Sessions hold it by
/// shared_ptr so it outlives the last of them.
struct http_server::state {
  http_server_options options;
  request_handler handler;
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> open{0};
  std::uint16_t bound_port = 0;
  /// Set when the server speaks TLS (--tls-cert-file, --tls-key-file).
  std::optional<ssl::context> tls;

  std::mutex sessions_mutex;
  std::uint64_t next_session_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> sessions;
  /// Open connections per client address (under sessions_mutex).
  std::unordered_map<std::string, std::size_t> per_address;

  http_response render(int status, std::string_view code, std::string_view message) const {
    return options.render_error ? options.render_error(status, code, message)
                                : default_error_response(status, code, message);
  }
};

http_response default_error_response(int status, std::string_view code, std::string_view message) {
  json_writer w;
  w.begin_object();
  w.key("error");
  w.begin_object();
  w.field("type", status >= 500 ? "api_error" : "invalid_request_error");
  w.field("code", code);
  w.field("message", message);
  w.end_object();
  w.end_object();
  http_response res;
  res.status = status;
  res.body = w.take();
  return res;
}

/// One connection: reads a request, hands it to the handler, writes the
/// answer, and only then reads the next one, so pipelined requests are
/// answered in order. `Stream` is beast::tcp_stream or a TLS stream over it.
template <class Stream>
class basic_session : public session, public std::enable_shared_from_this<basic_session<Stream>> {
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;
  using std::enable_shared_from_this<basic_session<Stream>>::shared_from_this;

 public:
  template <class... TlsContext>
  basic_session(tcp::socket socket, std::shared_ptr<http_server::state> st, std::uint64_t id,
                std::string address, TlsContext&... tls)
      : stream_(std::move(socket), tls...),
        // Room for a whole head plus what a client pipelines behind it; the
        // parser consumes the body as it comes, so this bounds only the head.
        buffer_(st->options.header_bytes_max + head_slack_bytes),
        state_(std::move(st)),
        id_(id),
        address_(std::move(address)),
        deadline_(stream_.get_executor()) {}

  ~basic_session() override {
    state_->open.fetch_sub(1);
    std::lock_guard guard{state_->sessions_mutex};
    state_->sessions.erase(id_);
    if (auto it = state_->per_address.find(address_);
        it != state_->per_address.end() && --it->second == 0)
      state_->per_address.erase(it);
  }

  void run() override {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&basic_session::do_start, shared_from_this()));
  }

  void shutdown(bool force) override {
    asio::post(stream_.get_executor(), [self = shared_from_this(), force] {
      if (force || !self->busy_) self->do_close();
    });
  }

 private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  /// A TLS connection first completes its handshake, within the same
  /// deadline a plain one gets for its first request head.
  void do_start() {
    if constexpr (is_tls) {
      lowest().expires_after(std::chrono::milliseconds(state_->options.header_deadline_ms));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = shared_from_this()](beast::error_code ec) {
                                if (ec) return self->do_close();
                                self->do_read();
                              });
    } else {
      do_read();
    }
  }

  /// Waits for the next request: a new connection (or one with pipelined
  /// bytes already buffered) must send its head within the header deadline;
  /// a kept-alive one may idle up to the idle timeout first.
  void do_read() {
    if (state_->draining) return do_close();
    if (request_seq_ == 0 || buffer_.size() > 0) return do_read_head();
    lowest().expires_after(std::chrono::milliseconds(state_->options.idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(std::min(first_read_bytes, buffer_.max_size())),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->do_close();
                              self->buffer_.commit(n);
                              self->do_read_head();
                            });
  }

  /// Reads up to the blank line that ends the head, under one deadline (a
  /// client trickling bytes gains nothing), then checks the raw head.
  void do_read_head() {
    lowest().expires_after(std::chrono::milliseconds(state_->options.header_deadline_ms));
    head_scanned_ = 0;
    read_head_some();
  }

  void read_head_some() {
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    // Resume the search a few bytes back: the terminator may straddle reads.
    auto from = head_scanned_ > 3 ? head_scanned_ - 3 : 0;
    if (auto end = data.find("\r\n\r\n", from); end != std::string_view::npos)
      return on_head({}, end + 4);
    head_scanned_ = data.size();
    auto room = buffer_.max_size() - buffer_.size();
    if (data.size() > state_->options.header_bytes_max || room == 0)
      return on_head(asio::error::not_found, 0);
    stream_.async_read_some(buffer_.prepare(std::min(room, first_read_bytes)),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->do_close();
                              self->buffer_.commit(n);
                              self->read_head_some();
                            });
  }

  void on_head(beast::error_code ec, std::size_t head_bytes) {
    if (ec == asio::error::not_found || (!ec && head_bytes > state_->options.header_bytes_max))
      return send_error(431, "headers_too_large", "The request headers exceed the limit.");
    if (ec) return do_close();  // closed, reset or the head deadline passed
    std::string_view head(static_cast<const char*>(buffer_.data().data()), head_bytes);
    if (auto refused = check_raw_head(head))
      return send_error(refused->status, refused->code, refused->message);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.header_bytes_max));
    parser_->body_limit(state_->options.body_bytes_max);
    parser_->eager(false);
    // The whole head is buffered: parse it from memory, no I/O (a blocking
    // read here would stall an I/O thread).
    beast::error_code parse_ec;
    auto used = parser_->put(buffer_.data(), parse_ec);
    buffer_.consume(used);
    if (!parse_ec && !parser_->is_header_done()) parse_ec = http::error::need_more;
    if (parse_ec == http::error::header_limit)
      return send_error(431, "headers_too_large", "The request headers exceed the limit.");
    // A Content-Length over the limit is known from the head alone.
    if (parse_ec == http::error::body_limit)
      return send_error(413, "body_too_large", "The request body exceeds the limit.");
    if (parse_ec) return send_error(400, "malformed_http", "The request is not valid HTTP/1.1.");
    if (auto refused = check_parsed_head(parser_->get()))
      return send_error(refused->status, refused->code, refused->message);
    // The body gets the request deadline; the parser stops at its end.
    lowest().expires_after(std::chrono::milliseconds(state_->options.request_deadline_ms));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&basic_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return do_close();
    if (ec == http::error::body_limit)
      return send_error(413, "body_too_large", "The request body exceeds the limit.");
    if (ec == http::error::header_limit)
      return send_error(431, "headers_too_large", "The request headers exceed the limit.");
    if (ec) return send_error(400, "malformed_http", "The request is not valid HTTP/1.1.");

    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    http_request out;
    copy_head(req, out);
    out.body = std::move(req.body());
    beast::error_code addr_ec;
    auto ep = lowest().socket().remote_endpoint(addr_ec);
    if (!addr_ec) out.remote_address = ep.address().to_string();

    busy_ = true;
    state_->in_flight.fetch_add(1);
    lowest().expires_never();
    auto seq = ++request_seq_;
    deadline_.expires_after(std::chrono::milliseconds(state_->options.request_deadline_ms));
    deadline_.async_wait([self = shared_from_this(), seq](beast::error_code wait_ec) {
      if (wait_ec) return;
      self->on_response(seq, self->state_->render(504, "request_timeout",
                                                  "The request did not finish within its "
                                                  "deadline; retry with the same "
                                                  "Idempotency-Key."));
    });
    responder respond = [self = shared_from_this(), seq](http_response res) {
      asio::post(self->stream_.get_executor(), [self, seq, res = std::move(res)]() mutable {
        self->on_response(seq, std::move(res));
      });
    };
    try {
      state_->handler(std::move(out), std::move(respond));
    } catch (...) {
      // A handler that throws is a programming error; answer rather than hang.
      on_response(seq, state_->render(500, "internal_error",
                                      "The server failed to route the "
                                      "request."));
    }
  }

  void on_response(std::uint64_t seq, http_response res) {
    if (seq != request_seq_ || answered_seq_ == seq) return;  // late, after the deadline
    answered_seq_ = seq;
    deadline_.cancel();
    state_->in_flight.fetch_sub(1);
    write(std::move(res));
  }

  void send_error(int status, std::string_view code, std::string_view message) {
    keep_alive_ = false;
    linger_ = true;
    busy_ = true;
    write(state_->render(status, code, message));
  }

  void write(http_response res) {
    auto out = std::make_shared<http::response<http::string_body>>();
    out->version(version_);
    out->result(static_cast<unsigned>(res.status));
    out->set(http::field::server, state_->options.server_name);
    // Browsers that reached us over TLS keep to it (RFC 6797).
    if constexpr (is_tls)
      out->set(http::field::strict_transport_security,
               "max-age=" + std::to_string(core::limits::hsts_max_age_s));
    if (!res.content_type.empty()) out->set(http::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers) out->insert(name, value);
    out->body() = std::move(res.body);
    out->keep_alive(keep_alive_ && !state_->draining);
    out->prepare_payload();
    lowest().expires_after(std::chrono::milliseconds(state_->options.request_deadline_ms));
    http::async_write(stream_, *out,
                      [self = shared_from_this(), out](beast::error_code ec, std::size_t) {
                        self->on_write(ec, out->keep_alive());
                      });
  }

  void on_write(beast::error_code ec, bool keep_alive) {
    busy_ = false;
    if (ec) return do_close();
    if (linger_) return do_linger();
    if (!keep_alive) return do_close();
    do_read();
  }

  /// After an error answer to a request whose body was not read, half-close
  /// and drain what the client still sends for a moment: closing with unread
  /// bytes would make the kernel send RST, which can destroy our answer
  /// before the client reads it.
  void do_linger() {
    beast::error_code ec;
    if (!linger_started_) {
      // One deadline for the whole drain: a client trickling bytes cannot
      // hold the connection open by resetting a per-read timer.
      linger_started_ = true;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      lowest().expires_after(std::chrono::milliseconds(core::limits::http_linger_ms));
    }
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code read_ec, std::size_t) {
                              if (read_ec) return self->do_close();
                              self->do_linger();
                            });
  }

  void do_close() {
    beast::error_code ec;
    deadline_.cancel();
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().socket().close(ec);
  }

  /// Beyond the head limit, what the buffer may hold (pipelined bytes).
  static constexpr std::size_t head_slack_bytes = 16 * 1024;
  /// The first read of a kept-alive connection's next request.
  static constexpr std::size_t first_read_bytes = 4096;

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_server::state> state_;
  std::uint64_t id_;
  std::string address_;
  std::size_t head_scanned_ = 0;
  asio::steady_timer deadline_;
  std::uint64_t request_seq_ = 0;
  std::uint64_t answered_seq_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool linger_ = false;
  bool linger_started_ = false;
  bool busy_ = false;
  std::array<char, 4096> drain_{};
};

namespace {

void do_accept(const std::shared_ptr<http_server::state>& st);

void on_accept(const std::shared_ptr<http_server::state>& st, beast::error_code ec,
               tcp::socket socket) {
  if (ec == asio::error::operation_aborted || st->draining) return;
  if (!ec) {
    beast::error_code addr_ec;
    auto remote = socket.remote_endpoint(addr_ec);
    std::string address = addr_ec ? std::string() : remote.address().to_string();
    std::shared_ptr<session> s;
    {
      std::lock_guard guard{st->sessions_mutex};
      auto& from_address = st->per_address[address];
      // Over either limit: refuse this connection, keep serving the others.
      // The per-address cap keeps one client from taking the global one.
      if (st->open.load() < st->options.connections_max &&
          from_address < st->options.connections_per_address_max) {
        ++from_address;
        st->open.fetch_add(1);
        auto id = st->next_session_id++;
        if (st->tls)
          s = std::make_shared<basic_session<beast::ssl_stream<beast::tcp_stream>>>(
              std::move(socket), st, id, address, *st->tls);
        else
          s = std::make_shared<basic_session<beast::tcp_stream>>(std::move(socket), st, id,
                                                                 address);
        st->sessions.emplace(id, s);
      } else if (from_address == 0) {
        st->per_address.erase(address);
      }
    }
    if (s) {
      s->run();
    } else {
      beast::error_code ignored;
      socket.close(ignored);
    }
  }
  do_accept(st);
}

void do_accept(const std::shared_ptr<http_server::state>& st) {
  st->acceptor->async_accept(
      asio::make_strand(st->ioc),
      [st](beast::error_code ec, tcp::socket socket) { on_accept(st, ec, std::move(socket)); });
}

}  // namespace

http_server::http_server(http_server_options options, request_handler handler)
    : state_(std::make_shared<state>()) {
  state_->options = std::move(options);
  state_->handler = std::move(handler);
}

http_server::~http_server() {
  stop(0);
}

std::string http_server::start() {
  beast::error_code ec;
  const auto& cert = state_->options.tls_cert_file;
  const auto& key = state_->options.tls_key_file;
  if (cert.empty() != key.empty()) return "TLS needs both a certificate file and a key file";
  if (!cert.empty()) {
    auto& ctx = state_->tls.emplace(ssl::context::tls_server);
    // TLS 1.2 and later only; no compression, no renegotiation by clients.
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::no_compression | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION);
    if (ctx.use_certificate_chain_file(cert, ec); ec)
      return "TLS certificate " + cert + ": " + ec.message();
    if (ctx.use_private_key_file(key, ssl::context::pem, ec); ec)
      return "TLS key " + key + ": " + ec.message();
  }
  auto address = asio::ip::make_address(state_->options.address, ec);
  if (ec) return "bad listen address '" + state_->options.address + "': " + ec.message();
  tcp::endpoint endpoint{address, state_->options.port};
  auto& acceptor = state_->acceptor.emplace(asio::make_strand(state_->ioc));
  if (acceptor.open(endpoint.protocol(), ec); ec) return "open: " + ec.message();
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec)
    return "set_option: " + ec.message();
  if (acceptor.bind(endpoint, ec); ec)
    return "bind " + state_->options.address + ":" + std::to_string(state_->options.port) + ": " +
           ec.message();
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return "listen: " + ec.message();
  state_->bound_port = acceptor.local_endpoint().port();
  do_accept(state_);
  auto threads = state_->options.threads == 0 ? 1u : state_->options.threads;
  for (unsigned i = 0; i < threads; ++i)
    state_->threads.emplace_back([st = state_] { st->ioc.run(); });
  return {};
}

std::uint16_t http_server::port() const {
  return state_->bound_port;
}

std::size_t http_server::requests_in_flight() const {
  return state_->in_flight.load();
}

std::size_t http_server::connections_open() const {
  return state_->open.load();
}

void http_server::stop(std::int64_t drain_ms) {
  if (state_->stopped.exchange(true)) return;
  state_->draining = true;
  if (state_->acceptor) {
    asio::post(state_->acceptor->get_executor(), [st = state_] {
      beast::error_code ec;
      st->acceptor->close(ec);
    });
  }
  auto close_sessions = [this](bool force) {
    std::vector<std::shared_ptr<session>> live;
    {
      std::lock_guard guard{state_->sessions_mutex};
      for (auto& [id, weak] : state_->sessions)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->shutdown(force);
  };
  close_sessions(false);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
  while (state_->in_flight.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Whatever is still open now is closed; with no socket, timer or acceptor
  // left, the I/O threads run out of work and return, releasing every session
  // (stopping the io_context instead would strand their handlers in a cycle).
  close_sessions(true);
  for (auto& t : state_->threads)
    if (t.joinable()) t.join();
  state_->threads.clear();
}

}  // namespace pay::net
