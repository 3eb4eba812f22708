#include "psp/stripe/webhook_signature.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

using namespace pay::psp;
namespace limits = pay::core::limits;

namespace {

const std::string secret = "whsec_test_5ecret0f0urSandb0x";
const std::string other_secret = "whsec_rotated_n3wSecr3tValue";
const std::string payload =
    R"({"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}})";
constexpr std::int64_t t = 1'700'000'000;

/// The HMAC-SHA256 hex computed by the openssl command line tool, an
/// implementation independent of ours. Inputs must not hold single quotes.
std::string openssl_cli_hmac(const std::string& key, const std::string& data) {
  REQUIRE(key.find('\'') == std::string::npos);
  REQUIRE(data.find('\'') == std::string::npos);
  const std::string command =
      "printf '%s' '" + data + "' | openssl dgst -sha256 -hmac '" + key + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  REQUIRE(pclose(pipe) == 0);
  // "SHA2-256(stdin)= <hex>\n" (OpenSSL 3) or "(stdin)= <hex>\n" (1.1).
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  const auto space = output.rfind(' ');
  REQUIRE(space != std::string::npos);
  return output.substr(space + 1);
}

signature_verdict verify(const std::string& header, const std::string& body,
                         const std::vector<std::string>& secrets, std::int64_t now_s = t) {
  return verify_stripe_signature(header, body, secrets, now_s);
}

}  // namespace

TEST_CASE("the signature equals the openssl CLI's HMAC of t.payload keyed with the whole secret") {
  const auto expected = openssl_cli_hmac(secret, std::to_string(t) + "." + payload);
  CHECK(expected.size() == 64);
  CHECK(compute_stripe_signature(secret, t, payload) == expected);
}

TEST_CASE("the header carries t and one v1 per secret, in order") {
  const std::vector<std::string> secrets{secret, other_secret};
  CHECK(make_stripe_signature_header(secrets, t, payload) ==
        "t=1700000000,v1=" + compute_stripe_signature(secret, t, payload) +
            ",v1=" + compute_stripe_signature(other_secret, t, payload));
}

TEST_CASE("a correctly signed webhook is accepted") {
  const std::vector<std::string> secrets{secret};
  const auto header = make_stripe_signature_header(secrets, t, payload);
  CHECK(verify(header, payload, secrets) == signature_verdict::ok);
}

TEST_CASE("a tampered body is refused") {
  const std::vector<std::string> secrets{secret};
  const auto header = make_stripe_signature_header(secrets, t, payload);
  auto tampered = payload;
  tampered.replace(tampered.find("pi_1"), 4, "pi_2");
  CHECK(verify(header, tampered, secrets) == signature_verdict::no_matching_signature);
  CHECK(verify(header, payload + " ", secrets) == signature_verdict::no_matching_signature);
}

TEST_CASE("a signature made with another secret is refused") {
  const auto header = make_stripe_signature_header(std::vector{other_secret}, t, payload);
  CHECK(verify(header, payload, {secret}) == signature_verdict::no_matching_signature);
}

TEST_CASE("the secret's whsec_ prefix is part of the HMAC key") {
  const auto without_prefix = secret.substr(6);
  const auto header = make_stripe_signature_header(std::vector{without_prefix}, t, payload);
  CHECK(verify(header, payload, {secret}) == signature_verdict::no_matching_signature);
}

TEST_CASE("a tampered timestamp is refused") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  CHECK(verify("t=" + std::to_string(t + 1) + ",v1=" + signature, payload, {secret}) ==
        signature_verdict::no_matching_signature);
}

TEST_CASE("a stale timestamp is refused even with a valid signature") {
  const std::vector<std::string> secrets{secret};
  const auto header = make_stripe_signature_header(secrets, t, payload);
  CHECK(verify(header, payload, secrets, t + 300) == signature_verdict::ok);
  CHECK(verify(header, payload, secrets, t + 301) ==
        signature_verdict::timestamp_outside_tolerance);
  CHECK(verify_stripe_signature(header, payload, secrets, t + 60, 59) ==
        signature_verdict::timestamp_outside_tolerance);
}

TEST_CASE("a timestamp too far in the future is refused") {
  const std::vector<std::string> secrets{secret};
  const auto header = make_stripe_signature_header(secrets, t, payload);
  CHECK(verify(header, payload, secrets, t - 300) == signature_verdict::ok);
  CHECK(verify(header, payload, secrets, t - 301) ==
        signature_verdict::timestamp_outside_tolerance);
}

TEST_CASE("a header without t is malformed") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  CHECK(verify("v1=" + signature, payload, {secret}) == signature_verdict::malformed_header);
}

TEST_CASE("a non-integer or repeated t is malformed") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  CHECK(verify("t=abc,v1=" + signature, payload, {secret}) == signature_verdict::malformed_header);
  CHECK(verify("t=,v1=" + signature, payload, {secret}) == signature_verdict::malformed_header);
  CHECK(verify("t=-5,v1=" + signature, payload, {secret}) == signature_verdict::malformed_header);
  CHECK(verify("t=1700000000.5,v1=" + signature, payload, {secret}) ==
        signature_verdict::malformed_header);
  CHECK(verify("t=99999999999999999999,v1=" + signature, payload, {secret}) ==
        signature_verdict::malformed_header);
  CHECK(verify("t=1700000000,t=1700000000,v1=" + signature, payload, {secret}) ==
        signature_verdict::malformed_header);
}

TEST_CASE("an item without = is malformed") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  CHECK(verify("t=1700000000,garbage,v1=" + signature, payload, {secret}) ==
        signature_verdict::malformed_header);
}

TEST_CASE("a missing or blank header is reported as missing") {
  CHECK(verify("", payload, {secret}) == signature_verdict::missing_header);
  CHECK(verify("   ", payload, {secret}) == signature_verdict::missing_header);
}

TEST_CASE("with two v1 signatures either secret matches, for rotation") {
  const auto header = make_stripe_signature_header(std::vector{secret, other_secret}, t, payload);
  CHECK(verify(header, payload, {secret}) == signature_verdict::ok);
  CHECK(verify(header, payload, {other_secret}) == signature_verdict::ok);
  CHECK(verify(header, payload, {"whsec_unrelated"}) == signature_verdict::no_matching_signature);
}

TEST_CASE("with two configured secrets a signature by either is accepted") {
  const std::vector<std::string> both{other_secret, secret};
  CHECK(verify(make_stripe_signature_header(std::vector{secret}, t, payload), payload, both) ==
        signature_verdict::ok);
  CHECK(verify(make_stripe_signature_header(std::vector{other_secret}, t, payload), payload,
               both) == signature_verdict::ok);
}

TEST_CASE("a header with only v0 signatures has no v1 signature") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  CHECK(verify("t=1700000000,v0=" + signature, payload, {secret}) ==
        signature_verdict::no_v1_signature);
  CHECK(verify("t=1700000000", payload, {secret}) == signature_verdict::no_v1_signature);
}

TEST_CASE("unknown schemes next to a valid v1 are ignored") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  CHECK(verify("t=1700000000,v0=deadbeef,v1=" + signature + ",v2=whatever", payload, {secret}) ==
        signature_verdict::ok);
}

TEST_CASE("whitespace around items is tolerated") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  CHECK(verify(" t=1700000000 , v1=" + signature + " ", payload, {secret}) ==
        signature_verdict::ok);
  CHECK(verify("t=1700000000,\tv1=" + signature + ",", payload, {secret}) == signature_verdict::ok);
}

TEST_CASE("more v1 signatures than the limit are malformed") {
  const auto signature = compute_stripe_signature(secret, t, payload);
  std::string header = "t=1700000000";
  for (std::size_t i = 0; i + 1 < limits::webhook_signatures_max; ++i) header += ",v1=00";
  CHECK(verify(header + ",v1=" + signature, payload, {secret}) == signature_verdict::ok);
  CHECK(verify(header + ",v1=00,v1=" + signature, payload, {secret}) ==
        signature_verdict::malformed_header);
}

TEST_CASE("with no secrets configured nothing matches") {
  const auto header = make_stripe_signature_header(std::vector{secret}, t, payload);
  CHECK(verify(header, payload, {}) == signature_verdict::no_matching_signature);
}

TEST_CASE("signature verdict names equal the enumerator names") {
  CHECK(to_string(signature_verdict::ok) == "ok");
  CHECK(to_string(signature_verdict::missing_header) == "missing_header");
  CHECK(to_string(signature_verdict::malformed_header) == "malformed_header");
  CHECK(to_string(signature_verdict::no_v1_signature) == "no_v1_signature");
  CHECK(to_string(signature_verdict::timestamp_outside_tolerance) == "timestamp_outside_tolerance");
  CHECK(to_string(signature_verdict::no_matching_signature) == "no_matching_signature");
}
