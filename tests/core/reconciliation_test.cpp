#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "core/reconciliation.hpp"

using namespace pay::core;

namespace {

// 2026-11-24, 00:00 UTC.
constexpr std::int64_t day_start = 1'795'478'400;
const recon_window day{day_start, day_start + 86'400};

recon_record charge(std::string key, std::string ref, std::int64_t amount,
                    std::string status = "pending", std::int64_t at = day_start + 100,
                    std::string currency = "usd") {
  return {record_object::charge,
          std::move(key),
          std::move(ref),
          amount,
          std::move(currency),
          std::move(status),
          at};
}

}  // namespace

TEST_CASE("reconcile finds nothing when both sides agree") {
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000), charge("pi_2", "int_2", 500)};
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 1000), charge("pi_2", "txn_2", 500)};
  auto r = reconcile(ours, theirs, day);
  CHECK(r.differences.empty());
  CHECK(r.psp_records == 2);
  CHECK(r.our_records == 2);
  CHECK(r.matched == 2);
}

TEST_CASE("reconcile reports a record only the PSP has as missing_in_ledger") {
  std::vector<recon_record> ours;
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 1000)};
  auto r = reconcile(ours, theirs, day);
  REQUIRE(r.differences.size() == 1);
  const auto& d = r.differences[0];
  CHECK(d.kind == difference_kind::missing_in_ledger);
  CHECK(d.object == record_object::charge);
  CHECK(d.psp_reference == "txn_1");
  CHECK(d.our_reference.empty());
  CHECK(d.psp_amount_minor == 1000);
  CHECK_FALSE(d.our_amount_minor.has_value());
}

TEST_CASE("reconcile reports a record only we have as missing_at_psp") {
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000)};
  auto r = reconcile(ours, {}, day);
  REQUIRE(r.differences.size() == 1);
  CHECK(r.differences[0].kind == difference_kind::missing_at_psp);
  CHECK(r.differences[0].our_reference == "int_1");
  CHECK(r.differences[0].psp_reference.empty());
  CHECK(r.our_records == 1);
  CHECK(r.psp_records == 0);
}

TEST_CASE("reconcile reports a different amount with both references") {
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000)};
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 1500)};
  auto r = reconcile(ours, theirs, day);
  REQUIRE(r.differences.size() == 1);
  const auto& d = r.differences[0];
  CHECK(d.kind == difference_kind::amount_differs);
  CHECK(d.psp_reference == "txn_1");
  CHECK(d.our_reference == "int_1");
  CHECK(d.psp_amount_minor == 1500);
  CHECK(d.our_amount_minor == 1000);
}

TEST_CASE("reconcile reports a different currency and does not compare its amount") {
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000, "pending", day_start, "usd")};
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 900, "pending", day_start, "eur")};
  auto r = reconcile(ours, theirs, day);
  REQUIRE(r.differences.size() == 1);
  CHECK(r.differences[0].kind == difference_kind::currency_differs);
  CHECK(r.differences[0].psp_currency == "eur");
  CHECK(r.differences[0].our_currency == "usd");
}

TEST_CASE("reconcile reports a different status only when both sides give one") {
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000, "pending"),
                                 charge("pi_2", "int_2", 1000, "pending")};
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 1000, "po_1"),
                                   charge("pi_2", "txn_2", 1000, "")};
  auto r = reconcile(ours, theirs, day);
  REQUIRE(r.differences.size() == 1);
  CHECK(r.differences[0].kind == difference_kind::status_differs);
  CHECK(r.differences[0].psp_status == "po_1");
  CHECK(r.differences[0].our_status == "pending");
}

TEST_CASE("reconcile can report amount and status of one record together") {
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000, "pending")};
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 999, "po_1")};
  auto r = reconcile(ours, theirs, day);
  REQUIRE(r.differences.size() == 2);
  CHECK(r.differences[0].kind == difference_kind::amount_differs);
  CHECK(r.differences[1].kind == difference_kind::status_differs);
}

TEST_CASE("reconcile judges a record by the PSP's day and ignores other days") {
  // The PSP booked it just before midnight, we just after: the PSP's day.
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000, "pending", day.to_s + 2)};
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 1000, "pending", day.to_s - 1)};
  auto r = reconcile(ours, theirs, day);
  CHECK(r.differences.empty());
  CHECK(r.matched == 1);
  // The next day does not see it again, though our side falls into it.
  recon_window next{day.to_s, day.to_s + 86'400};
  auto r2 = reconcile(ours, theirs, next);
  CHECK(r2.differences.empty());
  CHECK(r2.matched == 0);
  // Records of other days on one side only are not reported either.
  std::vector<recon_record> yesterday{charge("pi_9", "int_9", 5, "pending", day.from_s - 10)};
  CHECK(reconcile(yesterday, {}, day).differences.empty());
  CHECK(reconcile({}, yesterday, day).differences.empty());
}

TEST_CASE("reconcile adds up records of one key on one side") {
  std::vector<recon_record> ours{charge("pi_1", "int_1", 1000)};
  std::vector<recon_record> theirs{charge("pi_1", "txn_1", 600), charge("pi_1", "txn_2", 400)};
  auto r = reconcile(ours, theirs, day);
  CHECK(r.differences.empty());
  CHECK(r.matched == 1);
}

TEST_CASE("reconcile keeps objects apart even with equal keys") {
  std::vector<recon_record> ours{
      {record_object::refund, "x_1", "rf_1", 300, "usd", "succeeded", day_start}};
  std::vector<recon_record> theirs{
      {record_object::payout, "x_1", "po_1", 300, "usd", "paid", day_start}};
  auto r = reconcile(ours, theirs, day);
  REQUIRE(r.differences.size() == 2);
  CHECK(r.differences[0].object == record_object::refund);
  CHECK(r.differences[0].kind == difference_kind::missing_at_psp);
  CHECK(r.differences[1].object == record_object::payout);
  CHECK(r.differences[1].kind == difference_kind::missing_in_ledger);
}

TEST_CASE("reconcile gives the same differences whatever the input order") {
  std::mt19937_64 rng(42);
  std::vector<recon_record> ours, theirs;
  for (int i = 0; i < 200; ++i) {
    auto key = "pi_" + std::to_string(i);
    if (i % 7 != 0) ours.push_back(charge(key, "int_" + std::to_string(i), 100 + i));
    if (i % 5 != 0)
      theirs.push_back(charge(key, "txn_" + std::to_string(i), 100 + i + (i % 11 == 0)));
  }
  auto first = reconcile(ours, theirs, day);
  std::shuffle(ours.begin(), ours.end(), rng);
  std::shuffle(theirs.begin(), theirs.end(), rng);
  auto second = reconcile(ours, theirs, day);
  CHECK(first.differences == second.differences);
  // Counted by hand: only ours when i%5==0 and i%7!=0, only theirs when
  // i%7==0 and i%5!=0, amounts differ when i%11==0 on both sides.
  std::size_t only_ours = 0, only_theirs = 0, amounts = 0;
  for (int i = 0; i < 200; ++i) {
    bool o = i % 7 != 0, t = i % 5 != 0;
    if (o && !t) ++only_ours;
    if (t && !o) ++only_theirs;
    if (o && t && i % 11 == 0) ++amounts;
  }
  std::size_t seen_ours = 0, seen_theirs = 0, seen_amounts = 0;
  for (const auto& d : first.differences) {
    if (d.kind == difference_kind::missing_at_psp) ++seen_ours;
    if (d.kind == difference_kind::missing_in_ledger) ++seen_theirs;
    if (d.kind == difference_kind::amount_differs) ++seen_amounts;
  }
  CHECK(seen_ours == only_ours);
  CHECK(seen_theirs == only_theirs);
  CHECK(seen_amounts == amounts);
}

TEST_CASE("difference kinds round-trip through their names") {
  CHECK(all_difference_kinds().size() == 5);
  for (auto k : all_difference_kinds()) CHECK(parse_difference_kind(to_string(k)) == k);
  CHECK_FALSE(parse_difference_kind("nope").has_value());
}

TEST_CASE("utc_day_window parses days and refuses what is not one") {
  auto w = utc_day_window("2026-11-24");
  REQUIRE(w);
  CHECK(w->from_s == day_start);
  CHECK(w->to_s == day_start + 86'400);
  CHECK(utc_day_window("1970-01-01")->from_s == 0);
  CHECK(utc_day_window("2024-02-29").has_value());
  CHECK_FALSE(utc_day_window("2023-02-29").has_value());
  CHECK_FALSE(utc_day_window("2026-13-01").has_value());
  CHECK_FALSE(utc_day_window("2026-1-01").has_value());
  CHECK_FALSE(utc_day_window("yesterday").has_value());
  CHECK(utc_day_of(day_start) == "2026-11-24");
  CHECK(utc_day_of(day_start + 86'399) == "2026-11-24");
  CHECK(utc_day_of(day_start + 86'400) == "2026-11-25");
}

TEST_CASE("the schedule waits until the next time of day") {
  CHECK(parse_time_of_day("00:30") == 1800);
  CHECK(parse_time_of_day("23:59") == 86'340);
  CHECK_FALSE(parse_time_of_day("24:00").has_value());
  CHECK_FALSE(parse_time_of_day("0:30").has_value());
  CHECK(parse_time_of_day("00:30:15") == 1815);
  CHECK_FALSE(parse_time_of_day("00:30:60").has_value());
  CHECK_FALSE(parse_time_of_day("00:30-15").has_value());
  CHECK(seconds_until(day_start, 1800) == 1800);
  CHECK(seconds_until(day_start + 1800, 1800) == 86'400);
  CHECK(seconds_until(day_start + 3600, 1800) == 86'400 - 1800);
}
