#pragma once

#include <string_view>

#include "core/error.hpp"
#include "net/http_types.hpp"

namespace pay::net {

/// The one error shape: {"error":{"type","code","message","param"}}, with
/// the status core::http_status gives for the code.
http_response error_response(const core::error& e);

/// The same shape for transport and routing errors that have no errc
/// (route_not_found, method_not_allowed, unsupported_media_type, ...).
http_response error_response(int status, std::string_view type, std::string_view code,
                             std::string_view message, std::string_view param = {});

/// A JSON 200 (or `status`) response with `body`.
http_response json_response(std::string body, int status = 200);

}  // namespace pay::net
