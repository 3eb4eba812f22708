// Strict UTF-8 and character counts: what the API refuses before PostgreSQL
// (22021 invalid UTF-8, 22P05 NUL) or a PSP ever sees the text.

#include <catch2/catch.hpp>

#include <string>

#include "core/utf8.hpp"

using namespace pay::core;

TEST_CASE("utf8: well-formed text of every sequence length passes") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xC3\xA9"));       // é, 2 bytes
  CHECK(valid_utf8("\xE2\x82\xAC"));      // €, 3 bytes
  CHECK(valid_utf8("\xF0\x9F\x92\xB3"));  // 💳, 4 bytes
  CHECK(valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
  CHECK(valid_utf8("\xEF\xBF\xBD"));      // U+FFFD
  CHECK(check_text("caf\xC3\xA9") == text_verdict::ok);
}

TEST_CASE("utf8: invalid bytes, overlong forms, surrogates and truncations are refused") {
  CHECK_FALSE(valid_utf8("\xFF"));
  CHECK_FALSE(valid_utf8("\x80"));              // a lone continuation byte
  CHECK_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong, 3 bytes
  CHECK_FALSE(valid_utf8("\xF0\x80\x80\xAF"));  // overlong, 4 bytes
  CHECK_FALSE(valid_utf8("\xED\xB0\x80"));      // U+DC00, a lone low surrogate
  CHECK_FALSE(valid_utf8("\xED\xA0\x80"));      // U+D800, a high surrogate
  CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(valid_utf8("\xC3"));              // truncated at the end
  CHECK_FALSE(valid_utf8("\xE2\x82"));
  CHECK_FALSE(valid_utf8("\xE2\x82x"));  // a non-continuation inside
  CHECK(check_text("\xFF") == text_verdict::invalid_utf8);
}

TEST_CASE("utf8: a NUL anywhere is refused even in valid UTF-8") {
  CHECK(valid_utf8(std::string("a\0b", 3)));
  CHECK(check_text(std::string("a\0b", 3)) == text_verdict::contains_nul);
  CHECK(check_text(std::string("\0", 1)) == text_verdict::contains_nul);
}

TEST_CASE("utf8: lengths count code points, not bytes") {
  CHECK(utf8_length("") == 0);
  CHECK(utf8_length("abc") == 3);
  CHECK(utf8_length("caf\xC3\xA9") == 4);
  CHECK(utf8_length("\xE2\x82\xAC\xE2\x82\xAC") == 2);
  CHECK(utf8_length("\xF0\x9F\x92\xB3") == 1);
}
