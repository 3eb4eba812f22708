#include "net/outbound_poster.hpp"

#include <chrono>

namespace pay::net {

http_outbound_poster::http_outbound_poster(http_client_options options)
    : client_(std::make_shared<http_client>(std::move(options))) {}

void http_outbound_poster::post(core::outbound_request req,
                                std::function<void(core::outbound_response)> done) {
  client_request out;
  out.method = "POST";
  out.url = std::move(req.url);
  out.headers = std::move(req.headers);
  out.body = std::move(req.body);
  out.content_type = "application/json";
  out.timeout_ms = req.timeout_ms;
  auto started = std::chrono::steady_clock::now();
  client_->async_send(std::move(out), [done = std::move(done), started](client_result r) {
    core::outbound_response res;
    res.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    res.answered = r.answered;
    res.timed_out = r.timed_out;
    res.error = std::move(r.error);
    if (r.answered) {
      res.status = r.response.status;
      res.excerpt = r.response.body.substr(
          0, std::min(r.response.body.size(), core::limits::outbound_response_excerpt_bytes));
    }
    done(std::move(res));
  });
}

}  // namespace pay::net
