#include "net/http_head.hpp"

#include <boost/beast/http/parser.hpp>

namespace pay::net {

namespace http = boost::beast::http;

std::optional<head_refusal> check_raw_head(std::string_view head) {
  for (auto pos = head.find("\r\n"); pos != std::string_view::npos && pos + 2 < head.size();
       pos = head.find("\r\n", pos + 2))
    if (head[pos + 2] == ' ' || head[pos + 2] == '\t')
      return head_refusal{400, "obsolete_line_folding",
                          "Header field values must not be folded over several lines."};
  return std::nullopt;
}

std::optional<head_refusal> check_parsed_head(const http::request<http::string_body>& req) {
  if (req.count(http::field::authorization) > 1)
    return head_refusal{400, "duplicate_header",
                        "The request has more than one Authorization header."};
  if (req.count(http::field::host) > 1)
    return head_refusal{400, "duplicate_header", "The request has more than one Host header."};
  auto te = req.count(http::field::transfer_encoding);
  if (te > 0) {
    auto value = req[http::field::transfer_encoding];
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    // Only chunked is implemented; anything layered with it (gzip, chunked)
    // would hand the routes a body they cannot read.
    if (te > 1 || !iequals({value.data(), value.size()}, "chunked"))
      return head_refusal{501, "unsupported_transfer_coding",
                          "Only the chunked transfer coding is supported."};
  }
  return std::nullopt;
}

void copy_head(const http::request<http::string_body>& req, http_request& out) {
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto q = out.target.find('?');
  out.path = out.target.substr(0, q);
  out.query = q == std::string::npos ? std::string() : out.target.substr(q + 1);
  out.headers.clear();
  for (const auto& field : req) out.headers.emplace_back(field.name_string(), field.value());
}

std::optional<head_refusal> parse_request_head(std::string_view head, std::size_t header_bytes_max,
                                               http_request& out) {
  if (auto r = check_raw_head(head)) return r;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(header_bytes_max));
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec == http::error::header_limit)
    return head_refusal{431, "headers_too_large", "The request headers exceed the limit."};
  if (ec || !parser.is_header_done())
    return head_refusal{400, "malformed_http", "The request is not valid HTTP/1.1."};
  if (auto r = check_parsed_head(parser.get())) return r;
  copy_head(parser.get(), out);
  return std::nullopt;
}

}  // namespace pay::net
