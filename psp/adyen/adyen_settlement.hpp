#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/psp.hpp"

/// Adyen's Settlement details report (CSV), read into the engine's balance
/// transactions and payouts.
namespace pay::psp {

/// What one report holds. Settled lines are charges, Refunded lines refunds
/// (negative), other money lines `other`; each names the payment's Psp
/// Reference as payment_intent and its batch's payout. One payout per
/// MerchantPayout line: its id is the batch number (with "-CUR" appended
/// when a batch pays out several currencies).
using adyen_settlement_report = core::psp_settlement_report;

/// Parses the CSV strictly: RFC 4180 quoting, columns found by header name,
/// every row as wide as the header, amounts in major units with Adyen's
/// exponent (converted to the engine's minor units exactly), times in the
/// row's TimeZone (UTC, GMT or +HH:MM). nullopt with `error` naming the line
/// and column otherwise.
std::optional<adyen_settlement_report> parse_adyen_settlement_report(std::string_view csv,
                                                                     std::string& error);

/// RFC 4180 records of `csv` (quoted fields, "" inside quotes, CRLF or LF);
/// nullopt with `error` for an unterminated quote or text after a closing one.
std::optional<std::vector<std::vector<std::string>>> parse_csv(std::string_view csv,
                                                               std::string& error);

}  // namespace pay::psp
