#pragma once

#include <memory>

#include "core/outbound_delivery.hpp"
#include "net/http_client.hpp"

namespace pay::net {

/// The outbound webhook poster over the engine's HTTP client: POSTs JSON
/// with the request's headers and deadline, and reports the status, a short
/// excerpt of the answer and the latency. Runs on the client's I/O threads.
class http_outbound_poster final : public core::outbound_poster {
 public:
  explicit http_outbound_poster(http_client_options options);
  void post(core::outbound_request req, std::function<void(core::outbound_response)> done) override;

 private:
  std::shared_ptr<http_client> client_;
};

}  // namespace pay::net
