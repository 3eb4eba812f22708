#include "net/api_error.hpp"

#include "net/json.hpp"

namespace pay::net {

http_response error_response(int status, std::string_view type, std::string_view code,
                             std::string_view message, std::string_view param) {
  json_writer w;
  w.begin_object();
  w.key("error");
  w.begin_object();
  w.field("type", type);
  w.field("code", code);
  w.field("message", message);
  if (!param.empty()) w.field("param", param);
  w.end_object();
  w.end_object();
  return json_response(w.take(), status);
}

http_response error_response(const core::error& e) {
  return error_response(core::http_status(e.code), core::error_type(e.code),
                        core::to_string(e.code), e.message, e.param);
}

http_response json_response(std::string body, int status) {
  http_response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

}  // namespace pay::net
