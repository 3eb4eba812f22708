#include "core/utf8.hpp"

namespace pay::core {

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    // The second byte's range excludes overlong forms (E0, F0), surrogates
    // (ED: U+D800..U+DFFF) and code points above U+10FFFF (F4).
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c == 0xE0) {
      need = 2;
      lo = 0xA0;
    } else if (c == 0xED) {
      need = 2;
      hi = 0x9F;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      need = 2;
    } else if (c == 0xF0) {
      need = 3;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      need = 3;
    } else if (c == 0xF4) {
      need = 3;
      hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= need) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t i = 2; i <= need; ++i)
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    p += need + 1;
  }
  return true;
}

text_verdict check_text(std::string_view s) {
  if (!valid_utf8(s)) return text_verdict::invalid_utf8;
  if (s.find('\0') != std::string_view::npos) return text_verdict::contains_nul;
  return text_verdict::ok;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::string_view describe(text_verdict v) {
  switch (v) {
    case text_verdict::ok:
      return "ok";
    case text_verdict::invalid_utf8:
      return "is not valid UTF-8 (an invalid byte sequence or a lone surrogate)";
    case text_verdict::contains_nul:
      return "contains a NUL character (U+0000)";
  }
  return "is not acceptable text";
}

}  // namespace pay::core
