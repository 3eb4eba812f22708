#include "storage/settlement.hpp"

#include <chrono>
#include <set>
#include <utility>

#include "core/ids.hpp"
#include "core/ledger.hpp"
#include "core/outbound_events.hpp"
#include "core/settlement.hpp"
#include "storage/ledger.hpp"
#include "storage/outbound_webhooks.hpp"

namespace pay::storage {

namespace {

/// A PostgreSQL text array literal; every element quoted and escaped.
std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

pg_param opt(const std::optional<std::string>& v) {
  return v ? pg_param{*v} : pg_param{};
}

/// A refusal carried through pg_connection::transaction as a db_error, so
/// the transaction rolls back; the caller turns it back into `error`.
db_error refusal() {
  return db_error{db_error_kind::refused, "P0001", "refused", {}};
}

/// One balance transaction with what we know of it.
struct attributed {
  const core::psp_balance_transaction* bt = nullptr;
  std::optional<std::string> merchant_id;
  std::optional<std::string> intent_id;
  std::optional<std::string> refund_id;
  std::optional<std::string> dispute_id;
  /// A payout_failure line: the failed payout it pays again, and the shares
  /// of that payout's merchants (amount, fee, net) as it was booked.
  std::optional<std::string> repays_payout_id;
  std::vector<core::settlement_line> repay_lines;
};

std::optional<db_error> attribute(pg_connection& tx, const std::string& psp, attributed& a) {
  const auto& bt = *a.bt;
  if (bt.type == core::balance_tx_type::charge && bt.payment_intent) {
    auto r =
        tx.exec("SELECT id, merchant_id FROM payment_intents WHERE psp = $1 AND psp_reference = $2",
                {psp, *bt.payment_intent});
    if (!r.ok()) return r.error;
    if (!r.rows.empty()) {
      a.intent_id = std::string(r.rows.text(0, 0));
      a.merchant_id = std::string(r.rows.text(0, 1));
    }
  } else if (bt.type == core::balance_tx_type::dispute) {
    // A dispute's money: its source is the PSP's dispute id.
    auto r = tx.exec(
        "SELECT id, intent_id, merchant_id FROM disputes WHERE psp = $1 AND psp_dispute_id = $2",
        {psp, bt.source});
    if (!r.ok()) return r.error;
    if (!r.rows.empty()) {
      a.dispute_id = std::string(r.rows.text(0, 0));
      a.intent_id = std::string(r.rows.text(0, 1));
      a.merchant_id = std::string(r.rows.text(0, 2));
    }
  } else if (bt.type == core::balance_tx_type::payout_failure) {
    // A failed payout's money paid again: to the merchants whose shares the
    // failure reversed, as they were booked (gross, fee, net), so the
    // receivable and the fees come back to where the first payout left
    // them. What the shares do not explain (the failed payout's suspense
    // lines, a different amount) is left to suspense by the caller.
    auto f = tx.exec(
        "SELECT f.payout_id FROM settlement_payout_failures f WHERE f.psp = $1 AND "
        "f.psp_payout_id = $2",
        {psp, bt.source});
    if (!f.ok()) return f.error;
    if (!f.rows.empty()) {
      a.repays_payout_id = std::string(f.rows.text(0, 0));
      auto j = tx.exec(
          "SELECT merchant_id, gross, fee, net FROM settlement_journals WHERE payout_id = $1 "
          "ORDER BY merchant_id",
          {*a.repays_payout_id});
      if (!j.ok()) return j.error;
      for (int i = 0; i < j.rows.size(); ++i)
        a.repay_lines.push_back(core::settlement_line{
            bt.id + "/" + std::string(j.rows.text(i, 0)), std::string(core::to_string(bt.type)),
            std::string(j.rows.text(i, 0)), j.rows.int64(i, 1), j.rows.int64(i, 2),
            j.rows.int64(i, 3), bt.currency});
    }
  } else if (bt.type == core::balance_tx_type::refund) {
    auto r = tx.exec(
        "SELECT r.id, r.intent_id, r.merchant_id FROM refunds r JOIN payment_intents i ON i.id = "
        "r.intent_id WHERE r.psp_reference = $1 AND i.psp = $2",
        {bt.source, psp});
    if (!r.ok()) return r.error;
    if (!r.rows.empty()) {
      a.refund_id = std::string(r.rows.text(0, 0));
      a.intent_id = std::string(r.rows.text(0, 1));
      a.merchant_id = std::string(r.rows.text(0, 2));
    } else if (bt.payment_intent) {
      // A refund the PSP made and paid out before the engine committed its
      // row (the refund's answer and the payout raced): it still belongs to
      // the merchant of its intent, so it is booked with them, not left
      // unmatched; the refund row, when it lands, books its own side.
      auto i = tx.exec(
          "SELECT id, merchant_id FROM payment_intents WHERE psp = $1 AND psp_reference = $2",
          {psp, *bt.payment_intent});
      if (!i.ok()) return i.error;
      if (!i.rows.empty()) {
        a.intent_id = std::string(i.rows.text(0, 0));
        a.merchant_id = std::string(i.rows.text(0, 1));
      }
    }
  }
  return std::nullopt;
}

/// What the engine booked for a matched line before its payout, when that
/// is known and comparable: a charge's capture on the receivable (net of a
/// reversed capture), a dispute movement's amount and fee. nullopt: nothing
/// to compare (another line of the same charge settled before, the capture
/// not booked yet, a line of another type), so the line is booked as the
/// PSP reports it.
struct booked_amounts {
  std::int64_t amount = 0;
  std::int64_t fee = 0;
  bool fee_booked = false;  ///< false: the engine books the PSP's fee as reported
};

std::optional<db_error> booked_for(pg_connection& tx, const std::string& psp, const attributed& a,
                                   std::optional<booked_amounts>& out) {
  out.reset();
  const auto& bt = *a.bt;
  if (bt.type == core::balance_tx_type::charge && a.intent_id) {
    auto r = tx.exec(
        "SELECT (SELECT coalesce(sum(e.debit) - sum(e.credit), 0)::bigint FROM "
        "ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id JOIN "
        "ledger_accounts ac ON ac.id = e.account_id WHERE ac.code = 'psp_receivable' AND "
        "(t.kind = 'capture' AND t.intent_id = $1 OR t.reverses IN (SELECT id FROM "
        "ledger_transactions WHERE kind = 'capture' AND intent_id = $1))), (SELECT count(*) "
        "FROM settlement_items WHERE psp = $2 AND intent_id = $1 AND type = 'charge')",
        {*a.intent_id, psp});
    if (!r.ok()) return r.error;
    auto captured = r.rows.int64(0, 0);
    if (captured > 0 && r.rows.int64(0, 1) == 0) out = booked_amounts{captured, 0, false};
  } else if (bt.type == core::balance_tx_type::dispute && a.dispute_id) {
    auto r =
        tx.exec("SELECT amount, fee FROM dispute_movements WHERE psp = $1 AND psp_movement_id = $2",
                {psp, bt.id});
    if (!r.ok()) return r.error;
    if (!r.rows.empty()) out = booked_amounts{r.rows.int64(0, 0), r.rows.int64(0, 1), true};
  }
  return std::nullopt;
}

/// A balance transaction (or the unexplained part of one) booked to
/// suspense.
struct suspense_line {
  const core::psp_balance_transaction* bt = nullptr;
  std::int64_t amount = 0;
  std::int64_t fee = 0;
  std::int64_t net = 0;
  std::string reason;
  /// A known line settled differently from its booking (the rest of the
  /// line went to its merchant): the journal's memo says so.
  bool mismatch = false;
};

std::string epoch_s(const std::string& column) {
  return "floor(extract(epoch FROM " + column + "))::bigint";
}

std::string epoch_ms(const std::string& column) {
  return "floor(extract(epoch FROM " + column + ") * 1000)::bigint";
}

}  // namespace

core::result<booking_outcome> book_payout(pg_connection& conn, const payout_booking& b) {
  booking_outcome out;
  std::optional<core::error> refused;
  bool already = false;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    if (b.inbox_id) {
      auto r = tx.exec(
          "UPDATE webhook_inbox SET processed_at = clock_timestamp(), outcome = $2 "
          "WHERE id = $1 AND processed_at IS NULL",
          {std::to_string(*b.inbox_id), b.inbox_outcome});
      if (!r.ok()) return r.error;
      if (r.rows.affected() == 0) {
        already = true;
        return refusal();
      }
      auto d = tx.exec(
          "UPDATE dead_letters SET resolved_at = clock_timestamp() WHERE inbox_id = $1 AND "
          "resolved_at IS NULL",
          {std::to_string(*b.inbox_id)});
      if (!d.ok()) return d.error;
    }
    // Booked before (a redelivery, another event about the same payout, a
    // concurrent worker)? The unique index decides; a concurrent insert
    // waits here for the other transaction and then sees its row.
    out.settlement_id = core::make_id("stl");
    std::vector<attributed> items;
    std::vector<core::settlement_line> lines;
    items.reserve(b.balance_transactions.size());
    // Lines nobody can be found for go to suspense (core::postings::suspense),
    // except the payout's own balance transaction (type payout), which is
    // the payout itself, not money of anyone's.
    std::vector<suspense_line> to_suspense;
    // Charge lines compared with their capture: one per intent (a second
    // line of the same charge is booked as reported).
    std::set<std::string> charged_before;
    for (const auto& bt : b.balance_transactions) {
      attributed a;
      a.bt = &bt;
      if (auto e = attribute(tx, b.psp, a)) return e;
      if (a.repays_payout_id) {
        std::int64_t shares = 0;
        for (const auto& l : a.repay_lines) {
          lines.push_back(l);
          shares += l.net_minor;  // bounded: each was booked, so each fits
        }
        if (bt.net != shares)
          to_suspense.push_back(
              {&bt, bt.net - shares, 0, bt.net - shares,
               "pays again failed payout " + bt.source + " beyond its merchants' shares"});
      } else {
        // A known charge or dispute movement whose settled amount or fee
        // differs from what the engine booked: the merchant is settled as
        // booked and the difference goes to suspense, once with its payout.
        std::optional<booked_amounts> booked;
        const bool charge = bt.type == core::balance_tx_type::charge;
        if (a.merchant_id && !(charge && a.intent_id && charged_before.count(*a.intent_id)))
          if (auto e = booked_for(tx, b.psp, a, booked)) return e;
        if (charge && a.intent_id) charged_before.insert(*a.intent_id);
        const auto booked_fee = booked && booked->fee_booked ? booked->fee : bt.fee;
        if (booked && (booked->amount != bt.amount || booked_fee != bt.fee)) {
          // The whole difference in what the PSP paid is held in suspense
          // (a fee difference too: the operator decides whether it is the
          // PSP's fee), so the item is clearable whatever differs.
          const auto booked_net = booked->amount - booked_fee;
          const auto d_net = bt.net - booked_net;
          lines.push_back(core::settlement_line{bt.id, std::string(core::to_string(bt.type)),
                                                a.merchant_id, booked->amount, booked_fee,
                                                booked_net, bt.currency});
          to_suspense.push_back(
              {&bt, d_net, 0, d_net,
               std::string(core::to_string(bt.type)) + " " + bt.payment_intent.value_or(bt.source) +
                   " settled at amount " + std::to_string(bt.amount) + ", fee " +
                   std::to_string(bt.fee) + "; the engine booked amount " +
                   std::to_string(booked->amount) +
                   (booked->fee_booked ? ", fee " + std::to_string(booked->fee) : std::string()),
               true});
          items.push_back(std::move(a));
          continue;
        }
        lines.push_back(core::settlement_line{bt.id, std::string(core::to_string(bt.type)),
                                              a.merchant_id, bt.amount, bt.fee, bt.net,
                                              bt.currency});
        if (!a.merchant_id && bt.type != core::balance_tx_type::payout)
          to_suspense.push_back(
              {&bt, bt.amount, bt.fee, bt.net,
               bt.type == core::balance_tx_type::payout_failure
                   ? "pays again payout " + bt.source + ", which the engine never booked as failed"
                   : "unknown " + std::string(core::to_string(bt.type)) + " " + bt.source});
      }
      items.push_back(std::move(a));
    }
    auto plan = core::plan_settlement(lines, b.payout.currency);
    if (!plan) {
      refused = plan.err();
      return refusal();
    }
    // booked_net stays what went to merchants' banks: a payout with
    // suspense lines is still short of the PSP's amount until they are
    // cleared, and reconciliation says so.
    auto p = tx.exec(
        "INSERT INTO settlement_payouts (id, psp, psp_payout_id, currency, psp_amount, booked_net, "
        "psp_status, psp_created, unmatched_count, inbox_id) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "to_timestamp($8), $9, $10) ON CONFLICT (psp, psp_payout_id) DO NOTHING RETURNING id",
        {out.settlement_id, b.psp, b.payout.id, b.payout.currency, std::to_string(b.payout.amount),
         std::to_string(plan->booked_net_minor), std::string(core::to_string(b.payout.status)),
         std::to_string(b.payout.created), std::to_string(plan->unmatched_lines),
         b.inbox_id ? pg_param{std::to_string(*b.inbox_id)} : pg_param{}});
    if (!p.ok()) return p.error;
    if (p.rows.empty()) {
      auto existing =
          tx.exec("SELECT id FROM settlement_payouts WHERE psp = $1 AND psp_payout_id = $2",
                  {b.psp, b.payout.id});
      if (!existing.ok()) return existing.error;
      out.what = booking_outcome::result::duplicate;
      out.settlement_id = existing.rows.empty() ? "" : std::string(existing.rows.text(0, 0));
      return std::nullopt;
    }
    for (const auto& a : items) {
      const auto& bt = *a.bt;
      auto r = tx.exec(
          "INSERT INTO settlement_items (payout_id, psp, psp_balance_tx_id, type, source, "
          "psp_intent_id, merchant_id, intent_id, refund_id, amount, fee, net, currency, matched, "
          "psp_created, dispute_id, repays_payout_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
          "$10, $11, $12, $13, $14, to_timestamp($15), $16, $17)",
          {out.settlement_id, b.psp, bt.id, std::string(core::to_string(bt.type)), bt.source,
           opt(bt.payment_intent), opt(a.merchant_id), opt(a.intent_id), opt(a.refund_id),
           std::to_string(bt.amount), std::to_string(bt.fee), std::to_string(bt.net), bt.currency,
           (a.merchant_id || a.repays_payout_id) ? "true" : "false", std::to_string(bt.created),
           opt(a.dispute_id), opt(a.repays_payout_id)});
      if (!r.ok()) return r.error;
    }
    for (const auto& m : plan->merchants) {
      auto journal = core::postings::payout_settlement(
          core::posting_scope{m.merchant_id, b.psp, b.payout.currency}, m.amounts);
      if (!journal) {
        refused = journal.err();
        return refusal();
      }
      journal->memo = "payout " + b.payout.id + ": " + journal->memo;
      auto posted = insert_journal(tx, *journal, {});
      if (!posted.ok()) return posted.error;
      auto r = tx.exec(
          "INSERT INTO settlement_journals (payout_id, merchant_id, transaction_id, gross, fee, "
          "net) VALUES ($1, $2, $3, $4, $5, $6)",
          {out.settlement_id, m.merchant_id, posted.transaction_id,
           std::to_string(m.amounts.gross_minor), std::to_string(m.amounts.fee_minor),
           std::to_string(m.amounts.net_minor)});
      if (!r.ok()) return r.error;
    }
    for (const auto& l : to_suspense) {
      if (l.amount == 0 && l.fee == 0) continue;
      auto journal = core::postings::suspense(core::posting_scope{"", b.psp, b.payout.currency},
                                              {l.amount, l.fee, l.net});
      if (!journal) {
        refused = journal.err();
        return refusal();
      }
      journal->memo = "payout " + b.payout.id + ", " + l.bt->id + ": " +
                      (l.mismatch ? "suspense: " + l.reason : journal->memo);
      if (journal->memo.size() > core::journal_memo_length_max)
        journal->memo.resize(core::journal_memo_length_max);
      auto posted = insert_journal(tx, *journal, {});
      if (!posted.ok()) return posted.error;
      auto r = tx.exec(
          "INSERT INTO suspense_items (id, psp, payout_id, psp_balance_tx_id, type, source, "
          "psp_intent_id, amount, fee, net, currency, reason, transaction_id) VALUES ($1, $2, $3, "
          "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
          {core::make_id("sus"), b.psp, out.settlement_id, l.bt->id,
           std::string(core::to_string(l.bt->type)), l.bt->source, opt(l.bt->payment_intent),
           std::to_string(l.amount), std::to_string(l.fee), std::to_string(l.net),
           b.payout.currency, l.reason.substr(0, 200), posted.transaction_id});
      if (!r.ok()) return r.error;
      ++out.suspense_items;
    }
    out.merchants = plan->merchants.size();
    out.items = items.size();
    out.unmatched = plan->unmatched_lines;
    out.booked_net_minor = plan->booked_net_minor;
    return std::nullopt;
  });
  if (already) {
    out.what = booking_outcome::result::already_processed;
    return out;
  }
  if (refused) return *refused;
  if (failed) return to_core_error(*failed);
  return out;
}

core::result<std::vector<intent_settlement>> settlements_for_intent(pg_connection& conn,
                                                                    const std::string& merchant_id,
                                                                    const std::string& intent_id) {
  auto r = conn.exec(
      "SELECT p.psp_payout_id, p.id, si.psp_balance_tx_id, si.type, si.amount, si.fee, si.net, "
      "si.currency, p.psp_status, " +
          epoch_s("p.created_at") +
          " FROM settlement_items si JOIN settlement_payouts p ON p.id = si.payout_id "
          "WHERE si.intent_id = $1 AND si.merchant_id = $2 ORDER BY si.id",
      {intent_id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<intent_settlement> out;
  for (int i = 0; i < r.rows.size(); ++i) {
    intent_settlement s;
    s.payout = r.rows.text(i, 0);
    s.settlement_id = r.rows.text(i, 1);
    s.balance_transaction = r.rows.text(i, 2);
    s.type = r.rows.text(i, 3);
    s.amount = r.rows.int64(i, 4);
    s.fee = r.rows.int64(i, 5);
    s.net = r.rows.int64(i, 6);
    s.currency = r.rows.text(i, 7);
    s.payout_status = r.rows.text(i, 8);
    s.settled_at_s = r.rows.int64(i, 9);
    out.push_back(std::move(s));
  }
  return out;
}

core::result<std::vector<core::recon_record>> our_recon_records(pg_connection& conn,
                                                                const std::string& psp,
                                                                std::int64_t from_s,
                                                                std::int64_t to_s) {
  std::vector<core::recon_record> out;
  std::vector<pg_param> args{psp, std::to_string(from_s), std::to_string(to_s)};
  // Captures: what each capture journal debited to the receivable, per
  // intent, and what its charge settled beyond that (a mismatch booked to
  // suspense with its payout): together, what the PSP charged.
  auto captures = conn.exec(
      "SELECT i.id, i.psp_reference, a.currency, sum(e.debit)::bigint + coalesce((SELECT "
      "sum(s.amount) FROM suspense_items s WHERE s.psp = i.psp AND s.psp_intent_id = "
      "i.psp_reference AND s.type = 'charge'), 0)::bigint, " +
          epoch_s("min(t.created_at)") +
          ", coalesce((SELECT p.psp_payout_id FROM settlement_items si JOIN settlement_payouts p "
          "ON p.id = si.payout_id WHERE si.intent_id = i.id AND si.type = 'charge' ORDER BY si.id "
          "LIMIT 1), 'pending') "
          "FROM ledger_transactions t JOIN payment_intents i ON i.id = t.intent_id "
          "JOIN ledger_entries e ON e.transaction_id = t.id "
          "JOIN ledger_accounts a ON a.id = e.account_id "
          "WHERE t.kind = 'capture' AND a.code = 'psp_receivable' AND i.psp = $1 "
          "AND i.psp_reference IS NOT NULL "
          "AND t.created_at >= to_timestamp($2) AND t.created_at < to_timestamp($3) "
          "GROUP BY i.id, i.psp_reference, a.currency",
      args);
  if (!captures.ok()) return to_core_error(*captures.error);
  for (int i = 0; i < captures.rows.size(); ++i) {
    const auto& rows = captures.rows;
    out.push_back(core::recon_record{core::record_object::charge, std::string(rows.text(i, 1)),
                                     std::string(rows.text(i, 0)), rows.int64(i, 3),
                                     std::string(rows.text(i, 2)), std::string(rows.text(i, 5)),
                                     rows.int64(i, 4)});
  }
  // Refunds the PSP made or is making.
  auto refunds = conn.exec(
      "SELECT r.id, r.psp_reference, r.amount, r.currency, r.status, " + epoch_s("r.created_at") +
          " FROM refunds r JOIN payment_intents i ON i.id = r.intent_id "
          "WHERE i.psp = $1 AND r.psp_reference IS NOT NULL AND r.status IN ('succeeded', "
          "'pending') AND r.created_at >= to_timestamp($2) AND r.created_at < to_timestamp($3)",
      args);
  if (!refunds.ok()) return to_core_error(*refunds.error);
  for (int i = 0; i < refunds.rows.size(); ++i) {
    const auto& rows = refunds.rows;
    out.push_back(core::recon_record{core::record_object::refund, std::string(rows.text(i, 1)),
                                     std::string(rows.text(i, 0)), rows.int64(i, 2),
                                     std::string(rows.text(i, 3)), std::string(rows.text(i, 4)),
                                     rows.int64(i, 5)});
  }
  // Fees we booked, per balance transaction (by the PSP's time).
  auto fees = conn.exec(
      "SELECT si.psp_balance_tx_id, coalesce(si.intent_id, si.refund_id), si.fee, si.currency, " +
          epoch_s("si.psp_created") +
          " FROM settlement_items si WHERE si.psp = $1 AND si.matched AND si.fee <> 0 "
          "AND si.psp_created >= to_timestamp($2) AND si.psp_created < to_timestamp($3)",
      args);
  if (!fees.ok()) return to_core_error(*fees.error);
  for (int i = 0; i < fees.rows.size(); ++i) {
    const auto& rows = fees.rows;
    out.push_back(core::recon_record{core::record_object::fee,
                                     std::string(rows.text(i, 0)),
                                     std::string(rows.text(i, 1)),
                                     rows.int64(i, 2),
                                     std::string(rows.text(i, 3)),
                                     {},
                                     rows.int64(i, 4)});
  }
  // Disputes: the money each one moved as we booked it, by the PSP's time.
  // A movement that settled differently, its difference in suspense: the
  // books account for the PSP's amount.
  auto disputes = conn.exec(
      "SELECT d.psp_dispute_id, d.id, coalesce((SELECT si.amount FROM settlement_items si "
      "WHERE si.psp = m.psp AND si.psp_balance_tx_id = m.psp_movement_id AND EXISTS (SELECT 1 "
      "FROM suspense_items s WHERE s.psp = si.psp AND s.psp_balance_tx_id = "
      "si.psp_balance_tx_id AND s.type = 'dispute') ORDER BY si.id LIMIT 1), m.amount), "
      "m.currency, " +
          epoch_s("m.psp_created") +
          " FROM dispute_movements m JOIN disputes d ON d.id = m.dispute_id WHERE m.psp = $1 "
          "AND m.psp_created >= to_timestamp($2) AND m.psp_created < to_timestamp($3)",
      args);
  if (!disputes.ok()) return to_core_error(*disputes.error);
  for (int i = 0; i < disputes.rows.size(); ++i) {
    const auto& rows = disputes.rows;
    out.push_back(core::recon_record{core::record_object::dispute,
                                     std::string(rows.text(i, 0)),
                                     std::string(rows.text(i, 1)),
                                     rows.int64(i, 2),
                                     std::string(rows.text(i, 3)),
                                     {},
                                     rows.int64(i, 4)});
  }
  // Payouts we booked: what we booked to banks, by the PSP's time, and the
  // suspense of its known lines (a line settled differently from its
  // booking, a repayment beyond its merchants' shares): that money is
  // accounted for. An unknown line's suspense is not: the payout differs
  // until its charge is known.
  auto payouts = conn.exec(
      "SELECT p.id, p.psp_payout_id, p.booked_net + coalesce((SELECT sum(s.net) FROM "
      "suspense_items s JOIN settlement_items si ON si.payout_id = s.payout_id AND "
      "si.psp_balance_tx_id = s.psp_balance_tx_id WHERE s.payout_id = p.id AND si.matched), "
      "0)::bigint, p.currency, CASE WHEN f.payout_id IS NOT "
      "NULL THEN 'failed' ELSE p.psp_status END, " +
          epoch_s("p.psp_created") +
          " FROM settlement_payouts p LEFT JOIN settlement_payout_failures f ON f.payout_id = "
          "p.id WHERE p.psp = $1 AND p.psp_created >= to_timestamp($2) AND "
          "p.psp_created < to_timestamp($3)",
      args);
  if (!payouts.ok()) return to_core_error(*payouts.error);
  for (int i = 0; i < payouts.rows.size(); ++i) {
    const auto& rows = payouts.rows;
    out.push_back(core::recon_record{core::record_object::payout, std::string(rows.text(i, 1)),
                                     std::string(rows.text(i, 0)), rows.int64(i, 2),
                                     std::string(rows.text(i, 3)), std::string(rows.text(i, 4)),
                                     rows.int64(i, 5)});
  }
  return out;
}

core::result<std::vector<std::string>> known_payouts(pg_connection& conn, const std::string& psp,
                                                     const std::vector<std::string>& payout_ids) {
  if (payout_ids.empty()) return std::vector<std::string>{};
  auto r = conn.exec(
      "SELECT psp_payout_id FROM settlement_payouts WHERE psp = $1 AND psp_payout_id = "
      "ANY($2::text[])",
      {psp, text_array(payout_ids)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<std::string> out;
  for (int i = 0; i < r.rows.size(); ++i) out.emplace_back(r.rows.text(i, 0));
  return out;
}

namespace {

const std::string run_columns =
    "id, psp, day::text, sequence, trigger, psp_records, our_records, matched, differences, " +
    epoch_ms("started_at") + ", " + epoch_ms("finished_at");

recon_run run_of(const pg_rows& rows, int i) {
  recon_run r;
  r.id = rows.text(i, 0);
  r.psp = rows.text(i, 1);
  r.day = rows.text(i, 2);
  r.sequence = static_cast<int>(rows.int64(i, 3));
  r.trigger = rows.text(i, 4);
  r.psp_records = rows.int64(i, 5);
  r.our_records = rows.int64(i, 6);
  r.matched = rows.int64(i, 7);
  r.differences = rows.int64(i, 8);
  r.started_at_ms = rows.int64(i, 9);
  r.finished_at_ms = rows.int64(i, 10);
  return r;
}

std::optional<db_error> load_counts(pg_connection& conn, const std::string& run_id,
                                    std::vector<std::pair<std::string, std::int64_t>>& counts) {
  auto r = conn.exec(
      "SELECT kind, count(*) FROM reconciliation_differences WHERE run_id = $1 GROUP BY kind",
      {run_id});
  if (!r.ok()) return r.error;
  counts.clear();
  for (auto kind : core::all_difference_kinds()) {
    std::int64_t n = 0;
    for (int i = 0; i < r.rows.size(); ++i)
      if (r.rows.text(i, 0) == core::to_string(kind)) n = r.rows.int64(i, 1);
    counts.emplace_back(std::string(core::to_string(kind)), n);
  }
  return std::nullopt;
}

std::optional<core::record_object> parse_object(std::string_view s) {
  for (auto o : {core::record_object::charge, core::record_object::refund, core::record_object::fee,
                 core::record_object::payout, core::record_object::dispute})
    if (core::to_string(o) == s) return o;
  return std::nullopt;
}

}  // namespace

core::result<std::optional<recon_run>> latest_run(pg_connection& conn, const std::string& psp,
                                                  const std::string& day) {
  auto r = conn.exec("SELECT " + run_columns +
                         " FROM reconciliation_runs WHERE psp = $1 AND day = $2::date "
                         "ORDER BY sequence DESC LIMIT 1",
                     {psp, day});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return std::optional<recon_run>{};
  return std::optional<recon_run>{run_of(r.rows, 0)};
}

core::result<recon_run> save_run(pg_connection& conn, const recon_run& run,
                                 const core::recon_result& result, bool rerun) {
  std::string id;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    // One writer per (psp, day) at a time: the check and the insert below
    // cannot interleave with another's.
    auto lock =
        tx.exec("SELECT pg_advisory_xact_lock(hashtext('reconciliation:' || $1 || ':' || $2))",
                {run.psp, run.day});
    if (!lock.ok()) return lock.error;
    auto last = tx.exec(
        "SELECT id, sequence FROM reconciliation_runs WHERE psp = $1 AND day = $2::date ORDER BY "
        "sequence DESC LIMIT 1",
        {run.psp, run.day});
    if (!last.ok()) return last.error;
    if (!last.rows.empty() && !rerun) {
      id = last.rows.text(0, 0);
      return std::nullopt;
    }
    auto sequence = last.rows.empty() ? 1 : last.rows.int64(0, 1) + 1;
    id = core::make_id("rcn");
    auto r = tx.exec(
        "INSERT INTO reconciliation_runs (id, psp, day, sequence, trigger, psp_records, "
        "our_records, matched, differences, started_at) VALUES ($1, $2, $3::date, $4, $5, $6, $7, "
        "$8, $9, to_timestamp($10::double precision / 1000))",
        {id, run.psp, run.day, std::to_string(sequence), run.trigger,
         std::to_string(result.psp_records), std::to_string(result.our_records),
         std::to_string(result.matched), std::to_string(result.differences.size()),
         std::to_string(run.started_at_ms)});
    if (!r.ok()) return r.error;
    for (const auto& d : result.differences) {
      auto amount = [](const std::optional<std::int64_t>& v) {
        return v ? pg_param{std::to_string(*v)} : pg_param{};
      };
      auto text = [](const std::string& v) { return v.empty() ? pg_param{} : pg_param{v}; };
      auto ins = tx.exec(
          "INSERT INTO reconciliation_differences (run_id, kind, object, psp_reference, "
          "our_reference, psp_amount, our_amount, psp_currency, our_currency, psp_status, "
          "our_status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
          {id, std::string(core::to_string(d.kind)), std::string(core::to_string(d.object)),
           text(d.psp_reference), text(d.our_reference), amount(d.psp_amount_minor),
           amount(d.our_amount_minor), text(d.psp_currency), text(d.our_currency),
           text(d.psp_status), text(d.our_status), d.detail});
      if (!ins.ok()) return ins.error;
    }
    return std::nullopt;
  });
  if (failed) return to_core_error(*failed);
  return load_run(conn, id);
}

core::result<recon_run> load_run(pg_connection& conn, const std::string& id) {
  auto r = conn.exec("SELECT " + run_columns + " FROM reconciliation_runs WHERE id = $1", {id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty())
    return core::make_error(core::errc::not_found, "No such reconciliation run: " + id, "id");
  auto run = run_of(r.rows, 0);
  if (auto e = load_counts(conn, id, run.counts)) return to_core_error(*e);
  auto d = conn.exec(
      "SELECT kind, object, coalesce(psp_reference, ''), coalesce(our_reference, ''), psp_amount, "
      "our_amount, coalesce(psp_currency, ''), coalesce(our_currency, ''), coalesce(psp_status, "
      "''), coalesce(our_status, ''), detail FROM reconciliation_differences WHERE run_id = $1 "
      "ORDER BY id",
      {id});
  if (!d.ok()) return to_core_error(*d.error);
  for (int i = 0; i < d.rows.size(); ++i) {
    core::recon_difference x;
    x.kind = core::parse_difference_kind(d.rows.text(i, 0))
                 .value_or(core::difference_kind::missing_in_ledger);
    x.object = parse_object(d.rows.text(i, 1)).value_or(core::record_object::charge);
    x.psp_reference = d.rows.text(i, 2);
    x.our_reference = d.rows.text(i, 3);
    if (!d.rows.is_null(i, 4)) x.psp_amount_minor = d.rows.int64(i, 4);
    if (!d.rows.is_null(i, 5)) x.our_amount_minor = d.rows.int64(i, 5);
    x.psp_currency = d.rows.text(i, 6);
    x.our_currency = d.rows.text(i, 7);
    x.psp_status = d.rows.text(i, 8);
    x.our_status = d.rows.text(i, 9);
    x.detail = d.rows.text(i, 10);
    run.details.push_back(std::move(x));
  }
  return run;
}

core::result<std::vector<recon_metrics_line>> reconciliation_metrics(pg_connection& conn) {
  auto r = conn.exec("SELECT DISTINCT ON (psp) id, psp, day::text, " + epoch_ms("finished_at") +
                     " FROM reconciliation_runs ORDER BY psp, finished_at DESC, sequence DESC");
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<recon_metrics_line> out;
  for (int i = 0; i < r.rows.size(); ++i) {
    recon_metrics_line line;
    line.run_id = r.rows.text(i, 0);
    line.psp = r.rows.text(i, 1);
    line.day = r.rows.text(i, 2);
    line.finished_at_ms = r.rows.int64(i, 3);
    if (auto e = load_counts(conn, line.run_id, line.counts)) return to_core_error(*e);
    out.push_back(std::move(line));
  }
  auto line_of = [&](const std::string& psp) -> recon_metrics_line& {
    for (auto& l : out)
      if (l.psp == psp) return l;
    recon_metrics_line l;
    l.psp = psp;
    out.push_back(std::move(l));
    return out.back();
  };
  auto failures =
      conn.exec("SELECT psp, count(*) FROM settlement_payout_failures GROUP BY psp ORDER BY psp");
  if (!failures.ok()) return to_core_error(*failures.error);
  for (int i = 0; i < failures.rows.size(); ++i)
    line_of(std::string(failures.rows.text(i, 0))).payout_failures = failures.rows.int64(i, 1);
  auto suspense = suspense_balances(conn);
  if (!suspense) return suspense.err();
  for (const auto& b : *suspense)
    line_of(b.psp).suspense.push_back({b.currency, b.balance_minor, b.open_items, b.oldest_open_s});
  return out;
}

core::status settled_psp_window(pg_connection& conn, const std::string& psp, std::int64_t from_s,
                                std::int64_t to_s, std::vector<core::psp_balance_transaction>& bts,
                                std::vector<core::psp_payout>& payouts) {
  auto items = conn.exec(
      "SELECT i.psp_balance_tx_id, i.type, i.amount, i.fee, i.net, i.currency, i.source, "
      "i.psp_intent_id, p.psp_payout_id, " +
          epoch_s("i.psp_created") +
          " FROM settlement_items i JOIN settlement_payouts p ON p.id = i.payout_id "
          "WHERE i.psp = $1 AND i.psp_created >= to_timestamp($2) AND i.psp_created < "
          "to_timestamp($3) ORDER BY i.psp_created, i.id",
      {psp, std::to_string(from_s), std::to_string(to_s)});
  if (!items.ok()) return to_core_error(*items.error);
  for (int r = 0; r < items.rows.size(); ++r) {
    core::psp_balance_transaction bt;
    bt.id = items.rows.text(r, 0);
    auto type = items.rows.text(r, 1);
    bt.type = type == "charge"           ? core::balance_tx_type::charge
              : type == "refund"         ? core::balance_tx_type::refund
              : type == "payout"         ? core::balance_tx_type::payout
              : type == "dispute"        ? core::balance_tx_type::dispute
              : type == "payout_failure" ? core::balance_tx_type::payout_failure
                                         : core::balance_tx_type::other;
    bt.amount = items.rows.int64(r, 2);
    bt.fee = items.rows.int64(r, 3);
    bt.net = items.rows.int64(r, 4);
    bt.currency = items.rows.text(r, 5);
    bt.source = items.rows.text(r, 6);
    bt.payment_intent = items.rows.optional_text(r, 7);
    bt.payout = std::string(items.rows.text(r, 8));
    bt.created = items.rows.int64(r, 9);
    bts.push_back(std::move(bt));
  }
  auto pos = conn.exec("SELECT psp_payout_id, psp_amount, currency, psp_status, " +
                           epoch_s("psp_created") +
                           " FROM settlement_payouts WHERE psp = $1 AND psp_created >= "
                           "to_timestamp($2) AND psp_created < to_timestamp($3) ORDER BY "
                           "psp_created, id",
                       {psp, std::to_string(from_s), std::to_string(to_s)});
  if (!pos.ok()) return to_core_error(*pos.error);
  for (int r = 0; r < pos.rows.size(); ++r) {
    core::psp_payout p;
    p.id = pos.rows.text(r, 0);
    p.amount = pos.rows.int64(r, 1);
    p.currency = pos.rows.text(r, 2);
    // Only paid payouts are booked (settlement_actor); the stored word is
    // the engine's own to_string of it.
    p.status = core::payout_status::paid;
    p.created = pos.rows.int64(r, 4);
    payouts.push_back(std::move(p));
  }
  return core::status::ok();
}

core::result<payout_failure_outcome> reverse_failed_payout(pg_connection& conn,
                                                           const payout_failure_booking& f) {
  payout_failure_outcome out;
  std::optional<core::error> refused;
  bool already = false;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    out = payout_failure_outcome{};
    auto mark = [&](const std::string& outcome) -> std::optional<db_error> {
      if (!f.inbox_id) return std::nullopt;
      auto r = tx.exec(
          "UPDATE webhook_inbox SET processed_at = clock_timestamp(), outcome = $2 "
          "WHERE id = $1 AND processed_at IS NULL",
          {std::to_string(*f.inbox_id), outcome});
      if (!r.ok()) return r.error;
      if (r.rows.affected() == 0) {
        already = true;
        return refusal();
      }
      auto d = tx.exec(
          "UPDATE dead_letters SET resolved_at = clock_timestamp() WHERE inbox_id = $1 AND "
          "resolved_at IS NULL",
          {std::to_string(*f.inbox_id)});
      if (!d.ok()) return d.error;
      return std::nullopt;
    };
    // The payout row is append-only: a lock on its key orders a failure
    // with a concurrent booking of the same payout.
    auto lock = tx.exec("SELECT pg_advisory_xact_lock(hashtext('payout:' || $1 || ':' || $2))",
                        {f.psp, f.psp_payout_id});
    if (!lock.ok()) return lock.error;
    auto p =
        tx.exec("SELECT id, currency FROM settlement_payouts WHERE psp = $1 AND psp_payout_id = $2",
                {f.psp, f.psp_payout_id});
    if (!p.ok()) return p.error;
    if (p.rows.empty()) {
      out.what = payout_failure_outcome::result::not_booked;
      return mark("ignored: payout failed before it was booked");
    }
    out.settlement_id = p.rows.text(0, 0);
    std::string currency(p.rows.text(0, 1));
    auto ins = tx.exec(
        "INSERT INTO settlement_payout_failures (payout_id, psp, psp_payout_id, failure_code, "
        "reversed_net, inbox_id) SELECT $1, $2, $3, $4, coalesce(sum(net), 0), $5 FROM "
        "settlement_journals WHERE payout_id = $1 ON CONFLICT DO NOTHING RETURNING reversed_net",
        {out.settlement_id, f.psp, f.psp_payout_id, f.failure_code.substr(0, 100),
         f.inbox_id ? pg_param{std::to_string(*f.inbox_id)} : pg_param{}});
    if (!ins.ok()) return ins.error;
    if (ins.rows.empty()) {
      out.what = payout_failure_outcome::result::duplicate;
      return mark("duplicate: payout failure already booked");
    }
    out.reversed_net = ins.rows.int64(0, 0);
    if (auto e = mark("payout failure reversed")) return e;
    // Every journal the booking wrote, merchants' shares first.
    auto journals = tx.exec(
        "SELECT transaction_id, merchant_id, net FROM settlement_journals WHERE payout_id = $1 "
        "ORDER BY merchant_id",
        {out.settlement_id});
    if (!journals.ok()) return journals.error;
    auto created = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    std::vector<core::outbound_event> events;
    for (int i = 0; i < journals.rows.size(); ++i) {
      std::string merchant(journals.rows.text(i, 1));
      auto net = journals.rows.int64(i, 2);
      auto rev = reverse_in(tx, std::string(journals.rows.text(i, 0)));
      if (!rev.ok()) return rev.error;
      ++out.journals;
      ++out.merchants;
      auto a = tx.exec(
          "INSERT INTO audit_events (merchant_id, actor, action, cause, data) VALUES ($1, "
          "'psp:' || $2, 'payout_failed', 'the PSP reports the payout failed; its booking is "
          "reversed', jsonb_build_object('payout', $3::text, 'settlement', $4::text, 'net', "
          "$5::bigint, 'currency', $6::text, 'failure_code', $7::text, 'reversal', $8::text))",
          {merchant, f.psp, f.psp_payout_id, out.settlement_id, std::to_string(net), currency,
           f.failure_code, rev.transaction_id});
      if (!a.ok()) return a.error;
      events.push_back(core::payout_failed_event(
          {merchant, f.psp_payout_id, out.settlement_id, net, currency, f.failure_code}, created));
    }
    auto suspense = tx.exec(
        "SELECT id, transaction_id FROM suspense_items WHERE payout_id = $1 "
        "ORDER BY id",
        {out.settlement_id});
    if (!suspense.ok()) return suspense.error;
    for (int i = 0; i < suspense.rows.size(); ++i) {
      std::string item(suspense.rows.text(i, 0));
      // The item's clearing lock: a clearing either committed before (and
      // is seen below) or waits and then finds the item reversed.
      auto item_lock = tx.exec("SELECT pg_advisory_xact_lock(hashtext('suspense:' || $1))", {item});
      if (!item_lock.ok()) return item_lock.error;
      // A cleared item's money left suspense for its target account: the
      // clearing is reversed first (the target gives it back), then the
      // line, so suspense never goes below zero.
      auto cleared = tx.exec(
          "SELECT transaction_id, target_account FROM suspense_clearings WHERE item_id = $1",
          {item});
      if (!cleared.ok()) return cleared.error;
      if (!cleared.rows.empty()) {
        auto rev = reverse_in(tx, std::string(cleared.rows.text(0, 0)));
        if (!rev.ok()) return rev.error;
        ++out.journals;
        auto target = core::parse_account_key(std::string(cleared.rows.text(0, 1)));
        if (target && core::info(target->code).scope == core::scope_kind::merchant) {
          auto a = tx.exec(
              "INSERT INTO audit_events (merchant_id, actor, action, cause, data) VALUES ($1, "
              "'psp:' || $2, 'suspense_clearing_reversed', 'the payout that brought the "
              "suspense item failed; its clearing is reversed', jsonb_build_object('item', "
              "$3::text, 'account', $4::text, 'payout', $5::text, 'reversal', $6::text))",
              {target->scope, f.psp, item, target->to_string(), f.psp_payout_id,
               rev.transaction_id});
          if (!a.ok()) return a.error;
        }
      }
      auto rev = reverse_in(tx, std::string(suspense.rows.text(i, 1)));
      if (!rev.ok()) return rev.error;
      ++out.journals;
    }
    if (auto e = append_outbound_events(tx, events)) return e;
    return std::nullopt;
  });
  if (already) {
    out.what = payout_failure_outcome::result::already_processed;
    return out;
  }
  if (refused) return *refused;
  if (failed) return to_core_error(*failed);
  return out;
}

namespace {

const std::string suspense_columns =
    "s.id, s.psp, p.psp_payout_id, s.psp_balance_tx_id, s.type, s.source, s.psp_intent_id, "
    "s.amount, s.fee, s.net, s.currency, s.reason, s.transaction_id, " +
    epoch_s("s.created_at") +
    ", CASE WHEN r.id IS NOT NULL THEN 'reversed' WHEN c.item_id IS NOT NULL THEN 'cleared' "
    "ELSE 'open' END, c.target_account, c.reason, c.actor, c.transaction_id";

const std::string suspense_from =
    " FROM suspense_items s JOIN settlement_payouts p ON p.id = s.payout_id "
    "LEFT JOIN suspense_clearings c ON c.item_id = s.id "
    "LEFT JOIN ledger_transactions r ON r.reverses = s.transaction_id ";

suspense_item suspense_of(const pg_rows& rows, int i) {
  suspense_item x;
  x.id = rows.text(i, 0);
  x.psp = rows.text(i, 1);
  x.payout = rows.text(i, 2);
  x.balance_transaction = rows.text(i, 3);
  x.type = rows.text(i, 4);
  x.source = rows.text(i, 5);
  x.psp_intent = rows.optional_text(i, 6);
  x.amount = rows.int64(i, 7);
  x.fee = rows.int64(i, 8);
  x.net = rows.int64(i, 9);
  x.currency = rows.text(i, 10);
  x.reason = rows.text(i, 11);
  x.transaction_id = rows.text(i, 12);
  x.created_s = rows.int64(i, 13);
  x.status = rows.text(i, 14);
  x.cleared_to = rows.optional_text(i, 15);
  x.cleared_reason = rows.optional_text(i, 16);
  x.cleared_by = rows.optional_text(i, 17);
  x.clearing_transaction = rows.optional_text(i, 18);
  return x;
}

}  // namespace

core::result<std::vector<suspense_item>> list_suspense(pg_connection& conn, bool open_only,
                                                       std::size_t limit) {
  auto r = conn.exec("SELECT " + suspense_columns + suspense_from +
                         (open_only ? "WHERE c.item_id IS NULL AND r.id IS NULL " : "") +
                         "ORDER BY s.created_at DESC, s.id DESC LIMIT $1",
                     {std::to_string(limit)});
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<suspense_item> out;
  for (int i = 0; i < r.rows.size(); ++i) out.push_back(suspense_of(r.rows, i));
  return out;
}

core::result<suspense_item> find_suspense(pg_connection& conn, const std::string& id) {
  auto r = conn.exec("SELECT " + suspense_columns + suspense_from + "WHERE s.id = $1", {id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty())
    return core::make_error(core::errc::not_found, "No such suspense item: " + id, "id");
  return suspense_of(r.rows, 0);
}

core::result<suspense_item> clear_suspense(pg_connection& conn, const std::string& id,
                                           const std::string& target, const std::string& reason,
                                           const std::string& actor) {
  auto key = core::parse_account_key(target);
  if (!key)
    return core::make_error(core::errc::invalid_request,
                            "account must be a chart account as code:scope, e.g. "
                            "psp_fees:stripe or merchant_revenue:mch_...",
                            "account");
  if (reason.empty() || reason.size() > 500)
    return core::make_error(core::errc::invalid_request, "reason is required: 1 to 500 characters.",
                            "reason");
  std::optional<core::error> refused;
  auto failed = conn.transaction([&](pg_connection& tx) -> std::optional<db_error> {
    // Clearings of one item run one at a time, so the checks below hold.
    auto lock = tx.exec("SELECT pg_advisory_xact_lock(hashtext('suspense:' || $1))", {id});
    if (!lock.ok()) return lock.error;
    auto r = tx.exec("SELECT " + suspense_columns + suspense_from + "WHERE s.id = $1", {id});
    if (!r.ok()) return r.error;
    if (r.rows.empty()) {
      refused = core::make_error(core::errc::not_found, "No such suspense item: " + id, "id");
      return refusal();
    }
    auto item = suspense_of(r.rows, 0);
    if (item.status != "open") {
      refused =
          core::make_error(core::errc::invalid_state,
                           "Suspense item " + id + " is " + item.status +
                               (item.status == "cleared" ? " already." : ": its payout failed."),
                           "id");
      return refusal();
    }
    const auto& info = core::info(key->code);
    if (info.scope == core::scope_kind::merchant) {
      auto m = tx.exec("SELECT 1 FROM merchants WHERE id = $1", {key->scope});
      if (!m.ok()) return m.error;
      if (m.rows.empty()) {
        refused =
            core::make_error(core::errc::not_found, "No such merchant: " + key->scope, "account");
        return refusal();
      }
    } else if (key->scope != item.psp) {
      refused =
          core::make_error(core::errc::invalid_request,
                           "A PSP account must be the item's PSP (" + item.psp + ").", "account");
      return refusal();
    }
    auto journal = core::postings::suspense_clearing(
        core::posting_scope{"", item.psp, item.currency}, item.amount, *key, reason);
    if (!journal) {
      refused = journal.err();
      return refusal();
    }
    auto posted = insert_journal(tx, *journal, {});
    if (!posted.ok()) return posted.error;
    auto c = tx.exec(
        "INSERT INTO suspense_clearings (item_id, target_account, reason, actor, transaction_id) "
        "VALUES ($1, $2, $3, $4, $5)",
        {id, key->to_string(), reason, actor, posted.transaction_id});
    if (!c.ok()) return c.error;
    if (info.scope == core::scope_kind::merchant) {
      auto a = tx.exec(
          "INSERT INTO audit_events (merchant_id, actor, action, cause, data) VALUES ($1, $2, "
          "'suspense_cleared', $3, jsonb_build_object('item', $4::text, 'account', $5::text, "
          "'amount', $6::bigint, 'currency', $7::text, 'transaction', $8::text))",
          {key->scope, actor, reason, id, key->to_string(), std::to_string(item.amount),
           item.currency, posted.transaction_id});
      if (!a.ok()) return a.error;
    }
    return std::nullopt;
  });
  if (refused) return *refused;
  if (failed) return to_core_error(*failed);
  return find_suspense(conn, id);
}

core::result<std::vector<suspense_balance>> suspense_balances(pg_connection& conn) {
  auto r = conn.exec(
      "WITH bal AS (SELECT a.scope AS psp, a.currency, sum(e.credit) - sum(e.debit) AS balance "
      "FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = "
      "'suspense' GROUP BY a.scope, a.currency), "
      "open AS (SELECT s.psp, s.currency, count(*) AS n, " +
      epoch_s("min(s.created_at)") +
      " AS oldest FROM suspense_items s LEFT JOIN suspense_clearings c ON c.item_id = s.id "
      "LEFT JOIN ledger_transactions r ON r.reverses = s.transaction_id WHERE c.item_id IS "
      "NULL AND r.id IS NULL GROUP BY s.psp, s.currency) "
      "SELECT coalesce(bal.psp, open.psp), coalesce(bal.currency, open.currency), "
      "coalesce(bal.balance, 0)::bigint, coalesce(open.n, 0)::bigint, coalesce(open.oldest, "
      "0)::bigint FROM bal FULL JOIN open ON open.psp = bal.psp AND open.currency = "
      "bal.currency ORDER BY 1, 2");
  if (!r.ok()) return to_core_error(*r.error);
  std::vector<suspense_balance> out;
  for (int i = 0; i < r.rows.size(); ++i)
    out.push_back(suspense_balance{std::string(r.rows.text(i, 0)), std::string(r.rows.text(i, 1)),
                                   r.rows.int64(i, 2), r.rows.int64(i, 3), r.rows.int64(i, 4)});
  return out;
}

}  // namespace pay::storage
