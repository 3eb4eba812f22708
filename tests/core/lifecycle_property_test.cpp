// Property test of the whole money lifecycle through the posting functions
// (issue 19): random sequences of authorisations, captures, partial
// refunds, refund failures, disputes won and lost, expiries, payouts with
// unknown lines (suspense), known lines the PSP settles at another amount
// or fee (the difference to suspense), payout failures and their repayment,
// and suspense clearings, some of them before their payout fails. No server: the books are kept in
// memory the way the database keeps them (sums of entries), and after every step and at the end the
// test checks that
//   - every journal validates and balances per currency, real and memo apart;
//   - no account goes where it must not (holds, refunds beyond revenue,
//     negative open disputes or losses, suspense not what is open or below
//     zero, even when a cleared item's payout fails);
//   - every reversal nets its original to zero, account by account;
//   - once everything is paid out, the receivable is zero, the memo accounts
//     are zero, the bank holds what the PSP paid, and the trial balance is
//     zero: the books reconcile with the PSP's own balance.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/dispute.hpp"
#include "core/ledger.hpp"
#include "core/psp.hpp"
#include "core/settlement.hpp"

using namespace pay::core;

namespace {

/// The books: signed balance (debits - credits) per account key and
/// currency, and every journal written, by id.
struct books {
  std::map<std::pair<std::string, std::string>, std::int64_t> dc;
  std::vector<journal_tx> journals;
  std::map<std::size_t, std::size_t> reversed;  ///< original -> reversal

  std::size_t post(const result<journal_tx>& tx) {
    INFO((tx ? std::string() : tx.err().message));
    REQUIRE(tx);
    REQUIRE(validate(*tx));
    for (const auto& e : tx->entries)
      dc[{e.account.to_string(), e.currency}] += e.debit_minor - e.credit_minor;
    journals.push_back(*tx);
    return journals.size() - 1;
  }

  std::size_t reverse(std::size_t original) {
    REQUIRE(reversed.count(original) == 0);  // at most once, as the database
    auto mirror = postings::reversal(journals.at(original), "ltx_" + std::to_string(original));
    auto id = post(mirror);
    reversed[original] = id;
    return id;
  }

  /// Debit-normal balance.
  std::int64_t dr(const std::string& key, const std::string& cur = "usd") const {
    auto it = dc.find({key, cur});
    return it == dc.end() ? 0 : it->second;
  }
  std::int64_t cr(const std::string& key, const std::string& cur = "usd") const {
    return -dr(key, cur);
  }
};

/// One line of the PSP's balance not yet paid out.
struct pending_line {
  std::string type;  ///< charge | refund | dispute | payout_failure | unknown
  std::optional<std::string> merchant;
  std::int64_t amount = 0;
  std::int64_t fee = 0;
  /// What the engine booked for a known line the PSP settles differently
  /// (nullopt: as booked): the merchant is settled at these, the net
  /// difference goes to suspense (storage::book_payout).
  std::optional<std::int64_t> booked_amount = std::nullopt;
  std::optional<std::int64_t> booked_fee = std::nullopt;
};

struct intent {
  std::string merchant;
  std::int64_t hold = 0;  ///< open authorisation hold
  std::int64_t captured = 0;
  std::int64_t refunded = 0;
  std::vector<std::pair<std::size_t, std::int64_t>> refunds;  ///< journal, amount; live only
  std::int64_t disputed = 0;                                  ///< open dispute amount
  bool dispute_done = false;
  bool done = false;  ///< expired or canceled
};

struct paid_payout {
  std::vector<std::pair<std::size_t, merchant_settlement>> shares;  ///< journal, share
  std::vector<std::pair<std::size_t, std::int64_t>> suspense;       ///< journal, net
  std::int64_t amount = 0;                                          ///< what the PSP paid
  bool failed = false;
};

struct suspense_entry {
  std::size_t journal = 0;
  std::int64_t amount = 0;
  bool open = true;
  std::optional<std::size_t> clearing = std::nullopt;  ///< its clearing's journal
};

const std::string psp = "stripe";
const std::vector<std::string> merchants{"mch_a", "mch_b", "mch_c"};

posting_scope scope_of(const std::string& merchant) {
  return {merchant, psp, "usd"};
}

std::int64_t fee_of(std::int64_t amount) {
  return amount * 29 / 1000 + 30;
}

void check_accounts(const books& b, const std::vector<suspense_entry>& suspense) {
  for (const auto& m : merchants) {
    INFO(m);
    CHECK(b.dr("auth_holds:" + m) >= 0);
    CHECK(b.dr("auth_holds:" + m) == b.cr("auth_hold_offset:" + m));
    CHECK(b.dr("refunds:" + m) >= 0);
    CHECK(b.dr("refunds:" + m) <= b.cr("merchant_revenue:" + m));
    CHECK(b.dr("disputes:" + m) >= 0);
    CHECK(b.dr("dispute_losses:" + m) >= 0);
  }
  std::int64_t open = 0;
  for (const auto& s : suspense)
    if (s.open) open += s.amount;
  CHECK(b.cr("suspense:" + psp) == open);
  // Every item here holds money for someone (a positive amount), so
  // suspense is never below zero, whatever failed after a clearing.
  CHECK(b.cr("suspense:" + psp) >= 0);
  // Per currency, real debits = credits (memo apart is checked by validate
  // per journal; here the whole book).
  std::int64_t real = 0, memo = 0;
  for (const auto& [k, v] : b.dc) {
    auto code = parse_account_key(k.first);
    REQUIRE(code);
    (info(code->code).type == account_type::memo ? memo : real) += v;
  }
  CHECK(real == 0);
  CHECK(memo == 0);
}

}  // namespace

TEST_CASE("Random money lifecycles balance and respect every account and reconcile",
          "[ledger][property]") {
  const std::uint32_t seed = 20261219;
  for (int run = 0; run < 40; ++run) {
    std::mt19937 rng(seed + static_cast<std::uint32_t>(run));
    INFO("seed " << seed + static_cast<std::uint32_t>(run));
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    auto amount = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    books b;
    std::vector<intent> intents;
    std::vector<pending_line> pending;
    std::vector<paid_payout> payouts;
    std::vector<suspense_entry> suspense;
    std::int64_t psp_paid_total = 0;  ///< what reached the bank, net of failures
    std::int64_t unknown_money = 0;   ///< charges made outside the engine, net of fees

    auto settle = [&](bool everything) {
      // A payout of every pending line (or of a random prefix).
      std::size_t n = everything
                          ? pending.size()
                          : static_cast<std::size_t>(pick(static_cast<int>(pending.size()) + 1));
      if (n == 0) return;
      std::vector<settlement_line> lines;
      std::vector<pending_line> unknown;
      std::vector<std::int64_t> mismatches;  ///< net differences of known lines
      std::int64_t total = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const auto& p = pending[i];
        total += p.amount - p.fee;
        if (!p.merchant) {
          unknown.push_back(p);
          continue;
        }
        auto booked_amount = p.booked_amount.value_or(p.amount);
        auto booked_fee = p.booked_fee.value_or(p.fee);
        lines.push_back({"txn_" + std::to_string(i), p.type, p.merchant, booked_amount, booked_fee,
                         booked_amount - booked_fee, "usd"});
        if (booked_amount != p.amount || booked_fee != p.fee)
          mismatches.push_back((p.amount - p.fee) - (booked_amount - booked_fee));
      }
      if (total <= 0 && !everything) return;  // the PSP carries a negative balance
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
      auto plan = plan_settlement(lines, "usd");
      REQUIRE(plan);
      paid_payout po;
      po.amount = total;
      for (const auto& m : plan->merchants) {
        auto j = b.post(postings::payout_settlement(scope_of(m.merchant_id), m.amounts));
        po.shares.emplace_back(j, m);
      }
      for (const auto& u : unknown) {
        auto j =
            b.post(postings::suspense(scope_of(merchants[0]), {u.amount, u.fee, u.amount - u.fee}));
        po.suspense.emplace_back(j, u.amount - u.fee);
        suspense.push_back({j, u.amount, true});
      }
      for (auto d : mismatches) {
        if (d == 0) continue;
        auto j = b.post(postings::suspense(scope_of(merchants[0]), {d, 0, d}));
        po.suspense.emplace_back(j, d);
        suspense.push_back({j, d, true});
      }
      psp_paid_total += total;
      payouts.push_back(std::move(po));
    };

    for (int step = 0; step < 150; ++step) {
      auto what = pick(13);
      if (what <= 2 || intents.empty()) {
        // Authorise (memo hold), sometimes capture at once.
        intent in;
        in.merchant = merchants[static_cast<std::size_t>(pick(3))];
        in.hold = amount(100, 50'000);
        b.post(postings::authorization(scope_of(in.merchant), in.hold));
        intents.push_back(in);
        continue;
      }
      auto& in = intents[static_cast<std::size_t>(pick(static_cast<int>(intents.size())))];
      auto sc = scope_of(in.merchant);
      if (what == 3 && in.hold > 0) {
        // Capture all or part; the hold is closed whole.
        auto c = amount(1, in.hold);
        b.post(postings::capture(sc, c, in.hold));
        in.captured = c;
        in.hold = 0;
        if (pick(4) == 0) {
          // The PSP settles the charge higher than captured (its fee as
          // it reports it: the engine books no fee before the payout).
          auto settled = c + amount(1, 500);
          pending.push_back({"charge", in.merchant, settled, fee_of(settled), c, fee_of(settled)});
        } else {
          pending.push_back({"charge", in.merchant, c, fee_of(c)});
        }
      } else if (what == 4 && in.hold > 0) {
        // Expiry (or cancel): the hold released, nothing captured.
        b.post(postings::hold_release(
            sc, in.hold, pick(2) ? hold_release_reason::expired : hold_release_reason::canceled));
        in.hold = 0;
        in.done = true;
      } else if (what == 5 && in.captured - in.refunded - in.disputed > 0) {
        // A partial refund.
        auto r = amount(1, in.captured - in.refunded - in.disputed);
        auto j = b.post(postings::refund(sc, r));
        in.refunded += r;
        in.refunds.emplace_back(j, r);
        pending.push_back({"refund", in.merchant, -r, 0});
      } else if (what == 6 && !in.refunds.empty()) {
        // A refund fails after it was booked: its booking is reversed, the
        // PSP gives the money back (refund_failure, a refund movement).
        auto k = static_cast<std::size_t>(pick(static_cast<int>(in.refunds.size())));
        auto [j, r] = in.refunds[k];
        b.reverse(j);
        in.refunded -= r;
        in.refunds.erase(in.refunds.begin() + static_cast<std::ptrdiff_t>(k));
        pending.push_back({"refund", in.merchant, r, 0});
      } else if (what == 7 && in.captured > 0 && !in.dispute_done && in.disputed == 0 &&
                 in.captured - in.refunded > 0) {
        // A dispute: the PSP withdraws the amount and its fee.
        auto a = in.captured - in.refunded;
        b.post(postings::dispute_funds(sc, -a, 1500));
        in.disputed = a;
        if (pick(4) == 0)  // the PSP settles it with a lower fee than it told
          pending.push_back({"dispute", in.merchant, -a, 1500 - amount(1, 1000), -a, 1500});
        else
          pending.push_back({"dispute", in.merchant, -a, 1500});
      } else if (what == 8 && in.disputed > 0) {
        // The dispute closes: won (reinstated) or lost (realised).
        if (pick(2)) {
          b.post(postings::dispute_funds(sc, in.disputed, 0));
          pending.push_back({"dispute", in.merchant, in.disputed, 0});
        } else {
          b.post(postings::dispute_loss(sc, in.disputed));
        }
        in.disputed = 0;
        in.dispute_done = true;
      } else if (what == 9) {
        // Money the engine cannot attribute reaches the PSP's balance.
        auto a = amount(100, 20'000);
        pending.push_back({"unknown", std::nullopt, a, fee_of(a)});
        unknown_money += a - fee_of(a);
      } else if (what == 10) {
        settle(false);
      } else if (what == 11 && !payouts.empty()) {
        // A paid payout fails: every journal of its booking is reversed; the
        // PSP's payout_failure line pays each share again in a later payout,
        // and what no merchant's share explains goes to suspense again.
        auto& po = payouts[static_cast<std::size_t>(pick(static_cast<int>(payouts.size())))];
        if (po.failed) continue;
        po.failed = true;
        std::int64_t shares = 0;
        for (const auto& [j, m] : po.shares) {
          b.reverse(j);
          pending.push_back(
              {"payout_failure", m.merchant_id, m.amounts.gross_minor, m.amounts.fee_minor});
          shares += m.amounts.net_minor;
        }
        for (const auto& [j, net] : po.suspense) {
          // A cleared line's clearing is reversed first: the account it
          // went to gives it back, so suspense never goes below zero.
          for (auto& s : suspense)
            if (s.journal == j) {
              if (s.clearing) b.reverse(*s.clearing);
              s.open = false;
            }
          b.reverse(j);
        }
        if (po.amount != shares)
          pending.push_back({"unknown", std::nullopt, po.amount - shares, 0});
        psp_paid_total -= po.amount;
      } else if (what == 12) {
        // An operator clears an open suspense item (its payout may fail
        // later).
        for (auto& s : suspense)
          if (s.open && s.amount != 0) {
            s.clearing = b.post(postings::suspense_clearing(
                scope_of(merchants[0]), s.amount,
                pick(2) ? accounts::merchant_revenue(merchants[2]) : accounts::psp_fees(psp),
                "found"));
            s.open = false;
            break;
          }
      }
      check_accounts(b, suspense);
    }

    // Every open authorisation expires, and everything left is paid out.
    for (auto& in : intents)
      if (in.hold > 0) {
        b.post(
            postings::hold_release(scope_of(in.merchant), in.hold, hold_release_reason::expired));
        in.hold = 0;
      }
    settle(true);
    // Clear half of the open suspense to a merchant's revenue (the operator
    // found whose sale it was) and the rest to the PSP's fees.
    for (auto& s : suspense) {
      if (!s.open || s.amount == 0) continue;
      auto target = pick(2) ? accounts::merchant_revenue(merchants[1]) : accounts::psp_fees(psp);
      b.post(postings::suspense_clearing(scope_of(merchants[0]), s.amount, target, "found"));
      s.open = false;
    }
    check_accounts(b, suspense);

    // The receivable is what the PSP still holds for us: nothing.
    CHECK(b.dr("psp_receivable:" + psp) == 0);
    // The memo accounts are closed.
    for (const auto& m : merchants) {
      CHECK(b.dr("auth_holds:" + m) == 0);
      CHECK(b.dr("auth_hold_offset:" + m) == 0);
    }
    // Banks plus unattributed cash hold what the PSP paid out.
    std::int64_t banks = b.dr("unattributed_cash:" + psp);
    for (const auto& m : merchants) banks += b.dr("bank:" + m);
    CHECK(banks == psp_paid_total);
    // Reversals net their originals to zero, account by account.
    for (const auto& [orig, rev] : b.reversed) {
      std::map<std::string, std::int64_t> net;
      for (const auto* tx : {&b.journals[orig], &b.journals[rev]})
        for (const auto& e : tx->entries)
          net[e.account.to_string()] += e.debit_minor - e.credit_minor;
      for (const auto& [k, v] : net) {
        INFO(k);
        CHECK(v == 0);
      }
    }
    // Every unknown charge the PSP paid out is accounted for: cleared.
    CHECK(b.cr("suspense:" + psp) == 0);
    (void)unknown_money;
  }
}

TEST_CASE("Suspense postings: an unknown line and its clearing") {
  posting_scope sc{"", "stripe", "USD"};
  auto in = postings::suspense(sc, {3000, 117, 2883});
  REQUIRE(in);
  CHECK(in->kind == "suspense");
  CHECK(in->entries == std::vector<ledger_entry>{
                           {accounts::unattributed_cash("stripe"), 2883, 0, "usd"},
                           {accounts::psp_fees("stripe"), 117, 0, "usd"},
                           {accounts::suspense("stripe"), 0, 3000, "usd"},
                       });
  // A negative line (an unknown refund) goes the other way.
  auto out = postings::suspense(sc, {-500, 0, -500});
  REQUIRE(out);
  CHECK(out->entries == std::vector<ledger_entry>{
                            {accounts::unattributed_cash("stripe"), 0, 500, "usd"},
                            {accounts::suspense("stripe"), 500, 0, "usd"},
                        });
  CHECK_FALSE(postings::suspense(sc, {3000, 117, 2800}));  // net is not amount - fee
  CHECK_FALSE(postings::suspense(sc, {0, 0, 0}));
  CHECK_FALSE(postings::suspense({"", "bad scope", "usd"}, {1, 0, 1}));

  auto clear = postings::suspense_clearing(sc, 3000, accounts::merchant_revenue("mch_1"),
                                           "a charge made on the PSP's dashboard");
  REQUIRE(clear);
  CHECK(clear->kind == "suspense_clearing");
  CHECK(clear->entries == std::vector<ledger_entry>{
                              {accounts::suspense("stripe"), 3000, 0, "usd"},
                              {accounts::merchant_revenue("mch_1"), 0, 3000, "usd"},
                          });
  CHECK(clear->memo.find("a charge made on the PSP's dashboard") != std::string::npos);
  CHECK_FALSE(postings::suspense_clearing(sc, 0, accounts::psp_fees("stripe"), "x"));
  CHECK_FALSE(postings::suspense_clearing(sc, 10, accounts::suspense("stripe"), "x"));
  CHECK_FALSE(postings::suspense_clearing(sc, 10, accounts::auth_holds("mch_1"), "x"));
  CHECK_FALSE(postings::suspense_clearing(sc, 10, accounts::psp_fees("stripe"), ""));
  // The chart has both accounts, scoped per PSP.
  CHECK(info(account_code::suspense).type == account_type::liability);
  CHECK(info(account_code::suspense).normal == normal_side::credit);
  CHECK(info(account_code::suspense).scope == scope_kind::psp);
  CHECK(info(account_code::unattributed_cash).type == account_type::asset);
  CHECK(info(account_code::unattributed_cash).scope == scope_kind::psp);
}
