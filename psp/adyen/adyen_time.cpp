#include "psp/adyen/adyen_time.hpp"

namespace pay::psp {

namespace {

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

/// "YYYY-MM-DD?HH:MM:SS" with `sep` between date and time.
std::optional<std::int64_t> date_time(std::string_view s, char sep) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != sep || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + sec;
}

}  // namespace

std::optional<std::int64_t> parse_adyen_event_date(std::string_view text) {
  auto base = date_time(text, 'T');
  if (!base) return std::nullopt;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
  }
  auto zone = text.substr(pos);
  if (zone == "Z") return base;
  int h, m;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !digits(zone, 1, 2, h) ||
      zone[3] != ':' || !digits(zone, 4, 2, m) || h > 23 || m > 59)
    return std::nullopt;
  std::int64_t offset = h * 3600 + m * 60;
  return zone[0] == '+' ? *base - offset : *base + offset;
}

std::optional<std::int64_t> parse_adyen_report_time(std::string_view text, std::int64_t offset_s) {
  if (text.size() != 19) return std::nullopt;
  auto t = date_time(text, ' ');
  if (!t) return std::nullopt;
  return *t - offset_s;
}

}  // namespace pay::psp
