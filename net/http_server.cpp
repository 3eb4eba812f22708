// The only translation unit of the server that includes Beast; it is heavy to
// compile, so everything else speaks net/http_types.hpp.
#include "net/http_server.hpp"

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/json.hpp"

namespace pay::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class session;

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

  std::mutex sessions_mutex;
  std::uint64_t next_session_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> sessions;

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
/// answered in order.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<http_server::state> st, std::uint64_t id)
      : stream_(std::move(socket)),
        state_(std::move(st)),
        id_(id),
        deadline_(stream_.get_executor()) {}

  ~session() {
    state_->open.fetch_sub(1);
    std::lock_guard guard{state_->sessions_mutex};
    state_->sessions.erase(id_);
  }

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  /// Called on shutdown: an idle connection closes now, a busy one after its
  /// answer is written. With `force`, a busy one closes too (drain expired).
  void shutdown(bool force) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), force] {
      if (force || !self->busy_) self->do_close();
    });
  }

 private:
  void do_read() {
    if (state_->draining) return do_close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.header_bytes_max));
    parser_->body_limit(state_->options.body_bytes_max);
    stream_.expires_after(std::chrono::milliseconds(state_->options.idle_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
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
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    auto q = out.target.find('?');
    out.path = out.target.substr(0, q);
    if (q != std::string::npos) out.query = out.target.substr(q + 1);
    out.headers.reserve(16);
    for (const auto& field : req) out.headers.emplace_back(field.name_string(), field.value());
    out.body = std::move(req.body());
    beast::error_code addr_ec;
    auto ep = stream_.socket().remote_endpoint(addr_ec);
    if (!addr_ec) out.remote_address = ep.address().to_string();

    busy_ = true;
    state_->in_flight.fetch_add(1);
    stream_.expires_never();
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
    if (!res.content_type.empty()) out->set(http::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers) out->insert(name, value);
    out->body() = std::move(res.body);
    out->keep_alive(keep_alive_ && !state_->draining);
    out->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(state_->options.request_deadline_ms));
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
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.expires_after(std::chrono::milliseconds(core::limits::http_linger_ms));
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
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_server::state> state_;
  std::uint64_t id_;
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
    if (st->open.load() >= st->options.connections_max) {
      // Over the limit: refuse this connection, keep serving the others.
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      st->open.fetch_add(1);
      std::shared_ptr<session> s;
      {
        std::lock_guard guard{st->sessions_mutex};
        auto id = st->next_session_id++;
        s = std::make_shared<session>(std::move(socket), st, id);
        st->sessions.emplace(id, s);
      }
      s->run();
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
