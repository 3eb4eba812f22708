#include <catch2/catch.hpp>

#include "core/psp_provider.hpp"

using namespace pay::core;

namespace {

psp_provider named(std::string name) {
  psp_provider p;
  p.name = std::move(name);
  p.kind = "test";
  return p;
}

}  // namespace

TEST_CASE("The PSP registry finds accounts by name and alias, the first added is the default") {
  psp_registry r;
  CHECK(r.default_provider() == nullptr);
  REQUIRE(r.add(named("sandbox"), {"stripe"}));
  REQUIRE(r.add(named("adyen")));
  REQUIRE(r.find("sandbox") != nullptr);
  CHECK(r.find("stripe") == r.find("sandbox"));
  CHECK(r.find("stripe")->name == "sandbox");
  CHECK(r.find("adyen")->name == "adyen");
  CHECK(r.find("paypal") == nullptr);
  CHECK(r.find("") == nullptr);
  CHECK(r.names() == std::vector<std::string>{"sandbox", "adyen"});
  CHECK(r.default_provider()->name == "sandbox");
}

TEST_CASE("The PSP registry refuses a name or alias already taken, and empty names") {
  psp_registry r;
  REQUIRE(r.add(named("sandbox"), {"stripe"}));
  CHECK_FALSE(r.add(named("stripe")));
  CHECK_FALSE(r.add(named("adyen"), {"sandbox"}));
  CHECK_FALSE(r.add(named("")));
  CHECK_FALSE(r.add(named("paypal"), {"paypal"}));
  CHECK(r.names() == std::vector<std::string>{"sandbox"});
  CHECK(r.find("adyen") == nullptr);
}
