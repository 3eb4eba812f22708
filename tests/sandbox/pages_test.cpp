// The hosted card iframe and its script, served by the sandbox itself.
#include <catch2/catch.hpp>

#include "sandbox_harness.hpp"

using namespace sandbox_test;

TEST_CASE("the card iframe page and its script are served by the sandbox without a key") {
  sandbox_process sb;
  auto page = sb.get("/js/iframe.html?client_secret=pi_x_secret_y&publishable_key=pk_test_x", "");
  REQUIRE(page.answered);
  CHECK(page.response.status == 200);
  CHECK(page.response.content_type.starts_with("text/html"));
  CHECK(page.response.body.find("<form id=\"card-form\"") != std::string::npos);
  CHECK(page.response.body.find("src=\"/js/iframe.js\"") != std::string::npos);
  CHECK(page.response.body.find("https://") == std::string::npos);  // no CDN
  auto script = sb.get("/js/iframe.js", "");
  REQUIRE(script.answered);
  CHECK(script.response.status == 200);
  CHECK(script.response.content_type.starts_with("application/javascript"));
  CHECK(script.response.body.find("/confirm") != std::string::npos);
  CHECK(script.response.body.find("payment_method_data[card][number]") != std::string::npos);
  CHECK(script.response.body.find("'Bearer ' + publishableKey") != std::string::npos);
}

TEST_CASE("the health check answers ok") {
  sandbox_process sb;
  auto ok = expect_json(sb.get("/healthz", ""));
  CHECK(str(ok, "status") == "ok");
}
