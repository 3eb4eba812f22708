// The OpenAPI document (docs/openapi.yaml, embedded as JSON) against the
// engine's route table: every merchant route is documented, every documented
// operation is served, and the engine serves the document it embeds. The
// answers themselves are validated against the document's schemas by
// tests/js/openapi.test.js.

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include <rapidjson/document.h>

#include "net/openapi.hpp"
#include "tests/support/harness.hpp"

using namespace pay;

namespace {

using operation = std::pair<std::string, std::string>;  // (METHOD, path)

std::set<operation> documented_operations(const rapidjson::Document& doc) {
  std::set<operation> out;
  for (const auto& path : doc["paths"].GetObject()) {
    for (const auto& op : path.value.GetObject()) {
      std::string method = op.name.GetString();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      out.emplace(method, path.name.GetString());
    }
  }
  return out;
}

rapidjson::Document embedded_document() {
  rapidjson::Document doc;
  auto text = net::openapi_json();
  doc.Parse(text.data(), text.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

}  // namespace

TEST_CASE("The OpenAPI document is OpenAPI 3.1 with a path for every operation") {
  auto doc = embedded_document();
  REQUIRE(doc.IsObject());
  CHECK(std::string(doc["openapi"].GetString()).starts_with("3.1"));
  CHECK(doc.HasMember("webhooks"));
  CHECK(documented_operations(doc).size() > 10);
}

TEST_CASE("Every merchant route the engine serves is in the OpenAPI document") {
  auto documented = documented_operations(embedded_document());
  std::size_t merchant_routes = 0;
  for (const auto& r : net::served_routes()) {
    if (r.access != "merchant" && !(r.access == "probe" && r.method == "GET")) continue;
    ++merchant_routes;
    INFO(r.method << " " << r.pattern);
    CHECK(documented.count({r.method, r.pattern}) == 1);
  }
  CHECK(merchant_routes > 10);
}

TEST_CASE("Every operation in the OpenAPI document is a route the engine serves") {
  std::set<operation> served;
  for (const auto& r : net::served_routes())
    if (r.access == "merchant" || r.access == "probe") served.emplace(r.method, r.pattern);
  for (const auto& op : documented_operations(embedded_document())) {
    INFO(op.first << " " << op.second);
    CHECK(served.count(op) == 1);
  }
}

TEST_CASE("Operator routes and PSP and public routes stay out of the merchant document") {
  auto documented = documented_operations(embedded_document());
  for (const auto& r : net::served_routes()) {
    if (r.access == "merchant" || r.access == "probe") continue;
    INFO(r.method << " " << r.pattern);
    CHECK(documented.count({r.method, r.pattern}) == 0);
  }
}

TEST_CASE(
    "GET /v1/openapi.json answers the embedded document to a merchant and 401 without a key") {
  test::scratch_database db;
  auto merchant = test::make_merchant(db, "openapi");
  test::engine_process engine(db.url());
  auto anonymous = test::http("GET", engine.base_url() + "/v1/openapi.json");
  CHECK(anonymous.response.status == 401);
  auto res = test::http("GET", engine.base_url() + "/v1/openapi.json", {},
                        {{"Authorization", "Bearer " + merchant.api_key}});
  REQUIRE(res.response.status == 200);
  CHECK(res.response.body == net::openapi_json());
}
