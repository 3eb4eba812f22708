#include "core/crypto.hpp"

#include <catch2/catch.hpp>

#include "core/api_key.hpp"

using namespace pay::core;

TEST_CASE("sha256_hex matches the FIPS 180-2 vectors") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("hmac_sha256_hex matches RFC 4231 test case 2") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("hmac_sha256_hex matches RFC 4231 test case 1") {
  const std::string key(20, '\x0b');
  CHECK(hmac_sha256_hex(key, "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST_CASE("constant_time_equal compares contents and lengths") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK_FALSE(constant_time_equal("xbc", "abc"));
}

TEST_CASE("to_hex writes two lowercase digits per byte") {
  CHECK(to_hex(std::string_view("\x00\x0f\xab\xff", 4)) == "000fabff");
}

TEST_CASE("an API key is stored as its SHA-256") {
  CHECK(hash_api_key("sk_test_abc") == sha256_hex("sk_test_abc"));
  CHECK(hash_api_key("sk_test_abc").size() == 64);
  CHECK(hash_api_key("sk_test_abc") != hash_api_key("sk_test_abd"));
}
