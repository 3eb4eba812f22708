#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/standard_webhooks.hpp"

using namespace pay::core;

namespace {
// The example published with the Standard Webhooks specification.
const std::string spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t spec_timestamp = 1614265330;
const std::string spec_body = R"({"test": 2432232314})";
const std::string spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
}  // namespace

TEST_CASE("A delivery is signed exactly as the Standard Webhooks specification's example") {
  CHECK(standard_webhook_signature(spec_secret, spec_id, spec_timestamp, spec_body) ==
        spec_signature);
}

TEST_CASE("The specification's example verifies and fails once tampered or stale or re-keyed") {
  auto ts = std::to_string(spec_timestamp);
  CHECK(verify_standard_webhook(spec_secret, spec_id, ts, spec_signature, spec_body,
                                spec_timestamp + 10, 300));
  CHECK_FALSE(verify_standard_webhook(spec_secret, spec_id, ts, spec_signature,
                                      R"({"test": 2432232315})", spec_timestamp, 300));
  CHECK_FALSE(verify_standard_webhook(spec_secret, "msg_other", ts, spec_signature, spec_body,
                                      spec_timestamp, 300));
  CHECK_FALSE(verify_standard_webhook(spec_secret, spec_id, ts, spec_signature, spec_body,
                                      spec_timestamp + 301, 300));
  CHECK_FALSE(verify_standard_webhook(make_standard_webhook_secret(), spec_id, ts, spec_signature,
                                      spec_body, spec_timestamp, 300));
  CHECK_FALSE(verify_standard_webhook(spec_secret, spec_id, "16142653x0", spec_signature, spec_body,
                                      spec_timestamp, 300));
}

TEST_CASE("During a secret roll both secrets sign space-separated and either verifies") {
  auto next = make_standard_webhook_secret();
  std::vector<std::string> secrets{spec_secret, next};
  auto header = standard_webhook_signature_header(secrets, spec_id, spec_timestamp, spec_body);
  auto space = header.find(' ');
  REQUIRE(space != std::string::npos);
  CHECK(header.substr(0, space) == spec_signature);
  CHECK(header.substr(space + 1) ==
        standard_webhook_signature(next, spec_id, spec_timestamp, spec_body));
  auto ts = std::to_string(spec_timestamp);
  CHECK(verify_standard_webhook(spec_secret, spec_id, ts, header, spec_body, spec_timestamp, 300));
  CHECK(verify_standard_webhook(next, spec_id, ts, header, spec_body, spec_timestamp, 300));
}

TEST_CASE("New secrets are whsec_ and 24 random bytes in base64 and each differs") {
  auto a = make_standard_webhook_secret();
  auto b = make_standard_webhook_secret();
  CHECK(a != b);
  CHECK(a.starts_with("whsec_"));
  auto key = standard_webhook_key(a);
  REQUIRE(key);
  CHECK(key->size() == 24);
}

TEST_CASE("A secret that is not whsec_ and base64 signs nothing") {
  CHECK_FALSE(standard_webhook_key("sk_abc"));
  CHECK_FALSE(standard_webhook_key("whsec_"));
  CHECK_FALSE(standard_webhook_key("whsec_not base64!"));
  CHECK_FALSE(standard_webhook_signature("whsec_@@@@", spec_id, spec_timestamp, spec_body));
  std::vector<std::string> secrets{"bogus", spec_secret};
  CHECK(standard_webhook_signature_header(secrets, spec_id, spec_timestamp, spec_body) ==
        spec_signature);
}

TEST_CASE("base64 round-trips every length and refuses what is not base64") {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    auto encoded = base64_encode(bytes);
    auto decoded = base64_decode(encoded);
    if (bytes.empty()) {
      CHECK(encoded.empty());
    } else {
      REQUIRE(decoded);
      CHECK(*decoded == bytes);
    }
    bytes.push_back(static_cast<char>(i * 37));
  }
  CHECK(base64_encode("hello") == "aGVsbG8=");
  CHECK_FALSE(base64_decode("aGVsbG8"));
  CHECK_FALSE(base64_decode("aGV=bG8="));
  CHECK_FALSE(base64_decode("aGVs bG8"));
}
