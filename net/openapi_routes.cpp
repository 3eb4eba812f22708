#include "net/api_context.hpp"
#include "net/openapi.hpp"

namespace pay::net::api {

namespace {

/// GET /v1/openapi.json: the document, as built into the binary.
void get_openapi(api_state&, const call_ptr& c) {
  auto res = json_response(std::string(openapi_json()));
  // The document changes only with the binary; a day of caching is safe.
  res.headers.emplace_back("Cache-Control", "max-age=86400");
  c->answer(std::move(res));
}

}  // namespace

void add_openapi_routes(api_state& st) {
  st.routes.add("GET", "/v1/openapi.json", &get_openapi);
}

}  // namespace pay::net::api

namespace pay::net {

std::vector<served_route> served_routes() {
  api::api_state st;
  api::register_routes(st);
  std::vector<served_route> out;
  auto add = [&out](const router<api::route_fn>& r, std::string_view access) {
    for (const auto& e : r.entries())
      out.push_back(
          served_route{std::string(e.method), std::string(e.pattern), std::string(access)});
  };
  add(st.routes, "merchant");
  add(st.admin_routes, "admin");
  add(st.public_routes, "public");
  // Dispatched by dispatch() itself, before any router (api_server.cpp).
  for (std::string_view probe : {"/healthz", "/readyz"}) {
    out.push_back(served_route{"GET", std::string(probe), "probe"});
    out.push_back(served_route{"HEAD", std::string(probe), "probe"});
  }
  out.push_back(served_route{"POST", "/v1/webhooks/{psp}", "psp"});
  return out;
}

}  // namespace pay::net
