// The client's only translation unit that includes Beast and Asio's SSL.
#include "net/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace pay::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

std::optional<url_parts> parse_url(std::string_view url) {
  url_parts out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
    if (out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
  } else {
    out.host = std::string(authority);
    out.port = out.tls ? "443" : "80";
  }
  if (out.host.empty()) return std::nullopt;
  return out;
}

struct http_client::impl {
  explicit impl(http_client_options opts)
      : options(std::move(opts)), work(asio::make_work_guard(ioc)) {}

  http_client_options options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::thread> threads;
};

namespace {

/// One request on one connection: resolve, connect, (handshake), write,
/// read, each step bounded by what is left of the request's deadline.
template <class Stream>
class client_op : public std::enable_shared_from_this<client_op<Stream>> {
 public:
  template <class... Args>
  client_op(http_client::impl& owner, url_parts url, client_request req,
            std::function<void(client_result)> done, Args&&... stream_args)
      : resolver_(asio::make_strand(owner.ioc)),
        stream_(resolver_.get_executor(), std::forward<Args>(stream_args)...),
        url_(std::move(url)),
        done_(std::move(done)),
        deadline_(clock_type::now() + std::chrono::milliseconds(req.timeout_ms)) {
    request_.method_string(req.method);
    request_.target(url_.target);
    request_.version(11);
    bool default_port = (url_.tls && url_.port == "443") || (!url_.tls && url_.port == "80");
    request_.set(http::field::host, default_port ? url_.host : url_.host + ":" + url_.port);
    request_.set(http::field::user_agent, "payments-engine");
    for (auto& [name, value] : req.headers) request_.insert(name, value);
    if (!req.content_type.empty()) request_.set(http::field::content_type, req.content_type);
    request_.body() = std::move(req.body);
    request_.keep_alive(false);
    request_.prepare_payload();
    parser_.body_limit(owner.options.response_body_bytes_max);
  }

  void run() {
    if constexpr (is_tls) {
      if (!SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str()))
        return fail("tls: cannot set SNI host name");
      stream_.set_verify_callback(ssl::host_name_verification(url_.host));
    }
    resolver_.async_resolve(
        url_.host, url_.port,
        beast::bind_front_handler(&client_op::on_resolve, this->shared_from_this()));
  }

 private:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  auto& lowest() { return beast::get_lowest_layer(stream_); }

  bool arm() {
    auto left = deadline_ - clock_type::now();
    if (left <= clock_type::duration::zero()) return false;
    lowest().expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    return true;
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail("resolve: " + ec.message());
    if (!arm()) return timeout();
    lowest().async_connect(
        results, beast::bind_front_handler(&client_op::on_connect, this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec) return step_failed(ec, "connect");
    if (!arm()) return timeout();
    if constexpr (is_tls) {
      stream_.async_handshake(
          ssl::stream_base::client,
          beast::bind_front_handler(&client_op::on_handshake, this->shared_from_this()));
    } else {
      do_write();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return step_failed(ec, "tls handshake");
    do_write();
  }

  void do_write() {
    if (!arm()) return timeout();
    http::async_write(stream_, request_,
                      beast::bind_front_handler(&client_op::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return step_failed(ec, "write");
    if (!arm()) return timeout();
    http::async_read(stream_, buffer_, parser_,
                     beast::bind_front_handler(&client_op::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return step_failed(ec, "read");
    auto& res = parser_.get();
    client_result out;
    out.answered = true;
    out.response.status = static_cast<int>(res.result_int());
    out.response.content_type = std::string(res[http::field::content_type]);
    for (const auto& field : res)
      out.response.headers.emplace_back(std::string(field.name_string()),
                                        std::string(field.value()));
    out.response.body = std::move(res.body());
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    finish(std::move(out));
  }

  void step_failed(beast::error_code ec, const char* step) {
    if (ec == beast::error::timeout) return timeout();
    fail(std::string(step) + ": " + ec.message());
  }

  void timeout() {
    client_result out;
    out.timed_out = true;
    out.error = "timeout";
    finish(std::move(out));
  }

  void fail(std::string message) {
    client_result out;
    out.error = std::move(message);
    finish(std::move(out));
  }

  void finish(client_result out) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(out));
  }

  tcp::resolver resolver_;
  Stream stream_;
  url_parts url_;
  std::function<void(client_result)> done_;
  clock_type::time_point deadline_;
  http::request<http::string_body> request_;
  http::response_parser<http::string_body> parser_;
  beast::flat_buffer buffer_;
};

}  // namespace

http_client::http_client(http_client_options options)
    : impl_(std::make_shared<impl>(std::move(options))) {
  impl_->tls.set_default_verify_paths();
  impl_->tls.set_verify_mode(ssl::verify_peer);
  if (!impl_->options.ca_file.empty()) impl_->tls.load_verify_file(impl_->options.ca_file);
  auto threads = impl_->options.threads == 0 ? 1u : impl_->options.threads;
  for (unsigned i = 0; i < threads; ++i)
    impl_->threads.emplace_back([st = impl_] { st->ioc.run(); });
}

http_client::~http_client() {
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

void http_client::async_send(client_request req, std::function<void(client_result)> done) {
  auto url = parse_url(req.url);
  if (!url) {
    client_result out;
    out.error = "bad url: " + req.url;
    done(std::move(out));
    return;
  }
  if (url->tls) {
    auto op = std::make_shared<client_op<beast::ssl_stream<beast::tcp_stream>>>(
        *impl_, std::move(*url), std::move(req), std::move(done), impl_->tls);
    op->run();
  } else {
    auto op = std::make_shared<client_op<beast::tcp_stream>>(*impl_, std::move(*url),
                                                             std::move(req), std::move(done));
    op->run();
  }
}

client_result http_client::send(client_request req) {
  auto promise = std::make_shared<std::promise<client_result>>();
  auto future = promise->get_future();
  async_send(std::move(req), [promise](client_result r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace pay::net
