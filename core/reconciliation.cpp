#include "core/reconciliation.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>

#include "core/money.hpp"

namespace pay::core {

namespace {

constexpr std::array kinds{difference_kind::missing_in_ledger, difference_kind::missing_at_psp,
                           difference_kind::amount_differs, difference_kind::currency_differs,
                           difference_kind::status_differs};

using record_key = std::pair<record_object, std::string>;

/// One side's records merged per key: amounts add up, the earliest time and
/// the first reference and status stand for the whole.
std::map<record_key, recon_record> merge(std::span<const recon_record> records) {
  std::map<record_key, recon_record> out;
  for (const auto& r : records) {
    auto [it, fresh] = out.try_emplace({r.object, r.key}, r);
    if (fresh) continue;
    auto& m = it->second;
    // Amounts are bounded by the PSP's limits; saturate rather than wrap.
    auto sum = checked_add(m.amount_minor, r.amount_minor);
    m.amount_minor = sum ? *sum : (r.amount_minor > 0 ? INT64_MAX : INT64_MIN);
    if (r.at_s < m.at_s) m.at_s = r.at_s;
  }
  return out;
}

bool in_day(std::int64_t at_s, const recon_window& day) {
  return at_s >= day.from_s && at_s < day.to_s;
}

std::string what(record_object object, const std::string& key) {
  return std::string(to_string(object)) + " " + key;
}

}  // namespace

std::string_view to_string(difference_kind kind) {
  switch (kind) {
    case difference_kind::missing_in_ledger:
      return "missing_in_ledger";
    case difference_kind::missing_at_psp:
      return "missing_at_psp";
    case difference_kind::amount_differs:
      return "amount_differs";
    case difference_kind::currency_differs:
      return "currency_differs";
    case difference_kind::status_differs:
      return "status_differs";
  }
  return "unknown";
}

std::optional<difference_kind> parse_difference_kind(std::string_view name) {
  for (auto k : kinds)
    if (to_string(k) == name) return k;
  return std::nullopt;
}

std::span<const difference_kind> all_difference_kinds() {
  return kinds;
}

std::string_view to_string(record_object object) {
  switch (object) {
    case record_object::charge:
      return "charge";
    case record_object::refund:
      return "refund";
    case record_object::fee:
      return "fee";
    case record_object::payout:
      return "payout";
    case record_object::dispute:
      return "dispute";
  }
  return "unknown";
}

recon_result reconcile(std::span<const recon_record> ours, std::span<const recon_record> theirs,
                       const recon_window& day) {
  auto our_map = merge(ours);
  auto their_map = merge(theirs);
  recon_result out;
  auto add = [&](difference_kind kind, record_object object, const recon_record* psp,
                 const recon_record* our, std::string detail) {
    recon_difference d;
    d.kind = kind;
    d.object = object;
    if (psp) {
      d.psp_reference = psp->reference;
      d.psp_amount_minor = psp->amount_minor;
      d.psp_currency = psp->currency;
      d.psp_status = psp->status;
    }
    if (our) {
      d.our_reference = our->reference;
      d.our_amount_minor = our->amount_minor;
      d.our_currency = our->currency;
      d.our_status = our->status;
    }
    d.detail = std::move(detail);
    out.differences.push_back(std::move(d));
  };
  for (const auto& [key, psp] : their_map) {
    if (!in_day(psp.at_s, day)) continue;
    ++out.psp_records;
    auto it = our_map.find(key);
    if (it == our_map.end()) {
      add(difference_kind::missing_in_ledger, key.first, &psp, nullptr,
          "The PSP has " + what(key.first, key.second) + "; our books do not.");
      continue;
    }
    const auto& our = it->second;
    ++out.our_records;
    ++out.matched;
    if (psp.currency != our.currency) {
      add(difference_kind::currency_differs, key.first, &psp, &our,
          "The PSP books " + what(key.first, key.second) + " in " + psp.currency + ", we in " +
              our.currency + ".");
    } else if (psp.amount_minor != our.amount_minor) {
      add(difference_kind::amount_differs, key.first, &psp, &our,
          "The PSP books " + what(key.first, key.second) + " at " +
              std::to_string(psp.amount_minor) + ", we at " + std::to_string(our.amount_minor) +
              " (minor units).");
    }
    if (!psp.status.empty() && !our.status.empty() && psp.status != our.status)
      add(difference_kind::status_differs, key.first, &psp, &our,
          "The PSP says " + what(key.first, key.second) + " is " + psp.status + ", we say " +
              our.status + ".");
  }
  for (const auto& [key, our] : our_map) {
    if (their_map.count(key) != 0 || !in_day(our.at_s, day)) continue;
    ++out.our_records;
    add(difference_kind::missing_at_psp, key.first, nullptr, &our,
        "Our books have " + what(key.first, key.second) + "; the PSP does not.");
  }
  // Deterministic order: by object, then the key both sides share, then kind.
  auto key_of = [](const recon_difference& d) {
    return d.psp_reference.empty() ? d.our_reference : d.psp_reference;
  };
  std::stable_sort(out.differences.begin(), out.differences.end(),
                   [&](const recon_difference& a, const recon_difference& b) {
                     return std::tuple(a.object, key_of(a), a.kind) <
                            std::tuple(b.object, key_of(b), b.kind);
                   });
  return out;
}

namespace {

constexpr std::int64_t day_s = 86'400;

std::optional<int> digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int value = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    value = value * 10 + (ch - '0');
  }
  return value;
}

}  // namespace

std::optional<recon_window> utc_day_window(std::string_view day) {
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return std::nullopt;
  auto y = digits(day.substr(0, 4));
  auto m = digits(day.substr(5, 2));
  auto d = digits(day.substr(8, 2));
  if (!y || !m || !d || *y < 1970) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{*y},
                                  std::chrono::month{static_cast<unsigned>(*m)},
                                  std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  auto from = std::chrono::sys_days{ymd}.time_since_epoch().count() * day_s;
  return recon_window{from, from + day_s};
}

std::string utc_day_of(std::int64_t at_s) {
  auto days = at_s >= 0 ? at_s / day_s : (at_s - day_s + 1) / day_s;
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return out;
}

std::optional<std::int64_t> parse_time_of_day(std::string_view text) {
  if ((text.size() != 5 && text.size() != 8) || text[2] != ':') return std::nullopt;
  auto h = digits(text.substr(0, 2));
  auto m = digits(text.substr(3, 2));
  std::optional<int> sec = 0;
  if (text.size() == 8) sec = text[5] == ':' ? digits(text.substr(6, 2)) : std::nullopt;
  if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 59) return std::nullopt;
  return std::int64_t{*h} * 3600 + std::int64_t{*m} * 60 + *sec;
}

std::int64_t seconds_until(std::int64_t now_s, std::int64_t time_of_day_s) {
  auto into_day = ((now_s % day_s) + day_s) % day_s;
  auto wait = time_of_day_s - into_day;
  return wait > 0 ? wait : wait + day_s;
}

}  // namespace pay::core
