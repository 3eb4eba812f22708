#include "psp/adyen/adyen_settlement.hpp"

#include <map>

#include "core/money.hpp"
#include "psp/adyen/adyen_amounts.hpp"
#include "psp/adyen/adyen_time.hpp"

namespace pay::psp {

std::optional<std::vector<std::vector<std::string>>> parse_csv(std::string_view csv,
                                                               std::string& error) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  std::size_t line = 1;
  std::size_t i = 0;
  bool any = false;  // the current row has begun
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    // A blank line (one empty field) is skipped.
    if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
    row.clear();
    any = false;
  };
  while (i < csv.size()) {
    char c = csv[i];
    if (c == '"' && field.empty()) {
      ++i;
      bool closed = false;
      while (i < csv.size()) {
        if (csv[i] == '"') {
          if (i + 1 < csv.size() && csv[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (csv[i] == '\n') ++line;
        field += csv[i++];
      }
      if (!closed) {
        error = "line " + std::to_string(line) + ": a quoted field is not closed";
        return std::nullopt;
      }
      if (i < csv.size() && csv[i] != ',' && csv[i] != '\n' && csv[i] != '\r') {
        error = "line " + std::to_string(line) + ": text after a closing quote";
        return std::nullopt;
      }
      any = true;
      continue;
    }
    if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
      ++i;
    } else if (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') {
      end_row();
      ++line;
      i += 2;
    } else if (c == '\n') {
      end_row();
      ++line;
      ++i;
    } else if (c == '"') {
      error = "line " + std::to_string(line) + ": a quote inside an unquoted field";
      return std::nullopt;
    } else {
      field += c;
      any = true;
      ++i;
    }
  }
  if (any || !field.empty()) end_row();
  return rows;
}

namespace {

/// "12.34" in major units at `exponent` as minor units; empty -> 0.
std::optional<std::int64_t> major_to_minor(std::string_view s, int exponent) {
  if (s.empty()) return 0;
  bool negative = false;
  if (s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  auto dot = s.find('.');
  auto whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty()) ||
      frac.size() > static_cast<std::size_t>(exponent))
    return std::nullopt;
  std::int64_t v = 0;
  auto push = [&](char c) -> bool {
    if (c < '0' || c > '9') return false;
    auto m = core::checked_mul(v, 10);
    if (!m) return false;
    auto a = core::checked_add(*m, c - '0');
    if (!a) return false;
    v = *a;
    return true;
  };
  for (char c : whole)
    if (!push(c)) return std::nullopt;
  for (int k = 0; k < exponent; ++k)
    if (!push(static_cast<std::size_t>(k) < frac.size() ? frac[static_cast<std::size_t>(k)] : '0'))
      return std::nullopt;
  return negative ? -v : v;
}

std::optional<std::int64_t> zone_offset(std::string_view zone) {
  if (zone.empty() || zone == "UTC" || zone == "GMT" || zone == "Z") return 0;
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    auto d = [&](std::size_t p) { return zone[p] >= '0' && zone[p] <= '9'; };
    if (!d(1) || !d(2) || !d(4) || !d(5)) return std::nullopt;
    std::int64_t s = ((zone[1] - '0') * 10 + (zone[2] - '0')) * 3600 +
                     ((zone[4] - '0') * 10 + (zone[5] - '0')) * 60;
    return zone[0] == '+' ? s : -s;
  }
  return std::nullopt;
}

}  // namespace

std::optional<adyen_settlement_report> parse_adyen_settlement_report(std::string_view csv,
                                                                     std::string& error) {
  auto rows = parse_csv(csv, error);
  if (!rows) return std::nullopt;
  if (rows->empty()) {
    error = "the report is empty (no header line)";
    return std::nullopt;
  }
  const auto& header = rows->front();
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (!col.emplace(header[i], i).second) {
      error = "the header names column '" + header[i] + "' twice";
      return std::nullopt;
    }
  }
  static const char* const required[] = {"Psp Reference",     "Type",
                                         "Creation Date",     "Modification Reference",
                                         "Gross Currency",    "Gross Debit (GC)",
                                         "Gross Credit (GC)", "Net Currency",
                                         "Net Debit (NC)",    "Net Credit (NC)",
                                         "Commission (NC)",   "Markup (NC)",
                                         "Scheme Fees (NC)",  "Interchange (NC)",
                                         "Batch Number"};
  for (const char* name : required)
    if (!col.contains(name)) {
      error = std::string("the header lacks column '") + name + "'";
      return std::nullopt;
    }
  std::optional<std::size_t> tz_col;
  if (auto it = col.find("TimeZone"); it != col.end()) tz_col = it->second;

  adyen_settlement_report out;
  // (batch, currency) -> index of the payout
  std::map<std::pair<std::string, std::string>, std::size_t> payout_of;
  std::map<std::string, int> payouts_in_batch;
  std::vector<std::string> tx_batch;

  for (std::size_t r = 1; r < rows->size(); ++r) {
    const auto& row = (*rows)[r];
    auto where = "row " + std::to_string(r + 1);
    if (row.size() != header.size()) {
      error = where + ": " + std::to_string(row.size()) + " fields, the header has " +
              std::to_string(header.size());
      return std::nullopt;
    }
    auto at = [&](const char* name) -> const std::string& { return row[col.at(name)]; };
    const auto& type = at("Type");
    const auto& batch = at("Batch Number");
    if (batch.empty()) {
      error = where + ": 'Batch Number' is empty";
      return std::nullopt;
    }
    auto offset = zone_offset(tz_col ? row[*tz_col] : std::string());
    if (!offset) {
      error = where + ": unsupported TimeZone '" + row[*tz_col] + "'";
      return std::nullopt;
    }
    auto created = parse_adyen_report_time(at("Creation Date"), *offset);
    if (!created) {
      error = where + ": 'Creation Date' is not YYYY-MM-DD HH:MM:SS";
      return std::nullopt;
    }
    const auto& net_currency = at("Net Currency");
    if (!core::find_currency(net_currency)) {
      error = where + ": unknown 'Net Currency' '" + net_currency + "'";
      return std::nullopt;
    }
    int exp = adyen_exponent(net_currency);
    // A net-currency column in the engine's minor units.
    auto money = [&](const char* name, std::int64_t& v) -> bool {
      auto adyen = major_to_minor(at(name), exp);
      auto engine = adyen ? from_adyen_minor(*adyen, net_currency) : std::nullopt;
      if (!engine) {
        error = where + ": '" + name + "' is not an amount in " + net_currency + " ('" + at(name) +
                "')";
        return false;
      }
      v = *engine;
      return true;
    };
    std::int64_t net_debit = 0, net_credit = 0;
    if (!money("Net Debit (NC)", net_debit) || !money("Net Credit (NC)", net_credit))
      return std::nullopt;

    if (type == "MerchantPayout") {
      core::psp_payout p;
      p.id = batch;
      p.amount = net_debit - net_credit;
      p.currency = engine_currency(net_currency);
      p.status = core::payout_status::paid;
      p.created = *created;
      p.arrival_date = *created;
      if (!payout_of.emplace(std::pair{batch, p.currency}, out.payouts.size()).second) {
        error = where + ": a second MerchantPayout in " + net_currency + " for batch " + batch;
        return std::nullopt;
      }
      ++payouts_in_batch[batch];
      out.payouts.push_back(std::move(p));
      continue;
    }
    const auto& gross_currency = at("Gross Currency");
    if (!gross_currency.empty() && gross_currency != net_currency) {
      error = where + ": gross currency " + gross_currency + " differs from net currency " +
              net_currency + " (converted settlement is not supported)";
      return std::nullopt;
    }
    std::int64_t fees = 0;
    for (const char* name :
         {"Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)"}) {
      std::int64_t v = 0;
      if (!money(name, v)) return std::nullopt;
      auto sum = core::checked_add(fees, v);
      if (!sum) {
        error = where + ": the fees overflow";
        return std::nullopt;
      }
      fees = *sum;
    }
    core::psp_balance_transaction t;
    t.currency = engine_currency(net_currency);
    t.created = *created;
    t.net = net_credit - net_debit;
    t.fee = fees;
    t.amount = t.net + t.fee;
    const auto& psp = at("Psp Reference");
    const auto& modification = at("Modification Reference");
    t.source = modification.empty() ? psp : modification;
    t.id = type + ":" + (t.source.empty() ? std::to_string(r + 1) : t.source);
    if (!psp.empty()) t.payment_intent = psp;
    if (type == "Settled") {
      t.type = core::balance_tx_type::charge;
    } else if (type == "Refunded") {
      t.type = core::balance_tx_type::refund;
    } else if (type == "Chargeback" || type == "ChargebackReversed" || type == "SecondChargeback" ||
               type == "ChargebackCorrection" || type == "ChargebackReversedCorrection") {
      // A chargeback's money: the dispute is known by its payment (as
      // adyen_webhooks.cpp names it), so the line is matched to the dispute
      // the CHARGEBACK notification booked; a chargeback the engine never
      // heard of is unmatched and goes to suspense, never failing the report.
      t.type = core::balance_tx_type::dispute;
      if (!psp.empty()) t.source = psp;
    } else {
      t.type = core::balance_tx_type::other;
    }
    if ((t.type == core::balance_tx_type::charge && t.amount < 0) ||
        (t.type == core::balance_tx_type::refund && t.amount > 0)) {
      error = where + ": a " + type + " line with the amount on the wrong side";
      return std::nullopt;
    }
    tx_batch.push_back(batch);
    out.transactions.push_back(std::move(t));
  }
  // Payout ids, now that the number of payouts per batch is known.
  for (auto& [key, index] : payout_of)
    if (payouts_in_batch[key.first] > 1)
      out.payouts[index].id = key.first + "-" + adyen_currency(key.second);
  for (std::size_t i = 0; i < out.transactions.size(); ++i) {
    auto& t = out.transactions[i];
    auto it = payout_of.find({tx_batch[i], t.currency});
    if (it != payout_of.end()) t.payout = out.payouts[it->second].id;
  }
  return out;
}

}  // namespace pay::psp
