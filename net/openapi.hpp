#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pay::net {

/// docs/openapi.yaml as compact JSON, embedded at build time
/// (net/openapi_embed.py); served at GET /v1/openapi.json.
std::string_view openapi_json();

/// One route the engine's handler serves.
struct served_route {
  std::string method;
  std::string pattern;  ///< "/v1/payment_intents/{id}"
  /// "merchant" (bearer key), "admin" (admin token), "public" (own access
  /// control), "probe" (/healthz, /readyz) or "psp" (inbound PSP webhooks).
  std::string access;
};

/// Every route make_api_handler serves, from the same registration code, so
/// a test can compare them with the document.
std::vector<served_route> served_routes();

}  // namespace pay::net
