#pragma once

/// Settlement: how one PSP payout is split per merchant. The PSP settles per
/// currency on one account whose charges may belong to several merchants;
/// each balance transaction of the payout is attributed to the merchant of
/// the charge or refund it references (by the caller, which knows the
/// engine's intents), and each merchant's share becomes one
/// `postings::payout_settlement`. Pure: no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ledger.hpp"

namespace pay::core {

/// One balance transaction of a payout, attributed (or not) to a merchant.
struct settlement_line {
  std::string balance_tx_id;  ///< the PSP's id (Stripe: txn_...)
  std::string type;           ///< "charge", "refund", ...
  /// The merchant whose charge or refund it is; nullopt when the engine does
  /// not know the charge or refund (the line is recorded, never booked).
  std::optional<std::string> merchant_id;
  std::int64_t amount_minor = 0;  ///< signed: a refund is negative
  std::int64_t fee_minor = 0;
  std::int64_t net_minor = 0;  ///< amount - fee
  std::string currency;
};

/// One merchant's share of a payout.
struct merchant_settlement {
  std::string merchant_id;
  settlement_amounts amounts;  ///< gross = sum of amounts, fee, net (signed)
  std::size_t lines = 0;
};

/// A payout split per merchant.
struct settlement_plan {
  /// Sorted by merchant id; merchants whose share moves nothing are left out.
  std::vector<merchant_settlement> merchants;
  /// What is booked to merchants' banks: the sum of their nets.
  std::int64_t booked_net_minor = 0;
  /// Lines without a merchant, and their net (not booked).
  std::size_t unmatched_lines = 0;
  std::int64_t unmatched_net_minor = 0;
};

/// Splits the lines of a payout in `currency` per merchant. A dispute's
/// line (type "dispute") was booked off the receivable, fee included, when
/// the dispute moved the money (core::dispute_postings): in the payout it
/// moves only its net between the receivable and the bank, so it adds its
/// net to the gross and nothing to the fee. Refused
/// (invalid_request) when a line's currency is not the payout's or its net
/// is not amount - fee; overflowing sums are limit_exceeded.
result<settlement_plan> plan_settlement(std::span<const settlement_line> lines,
                                        std::string_view currency);

}  // namespace pay::core
