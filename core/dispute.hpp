#pragma once

/// Disputes (chargebacks): the engine's record of a shopper's bank taking a
/// payment back, its status machine, the evidence a merchant may send, and
/// the ledger postings of the money a dispute moves. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ledger.hpp"

namespace pay::core {

/// Where a dispute stands: the card networks' stages, as every PSP reports
/// them in its own words (psp/<name>/ maps them). `won` and `lost` are closed.
enum class dispute_status : std::uint8_t {
  /// An inquiry (no money moved yet); the merchant may answer.
  warning_needs_response,
  /// A chargeback: the merchant must answer by `evidence_due_by`.
  needs_response,
  /// Evidence sent; the issuer decides.
  under_review,
  /// Closed in the merchant's favour: withdrawn money comes back.
  won,
  /// Closed in the shopper's favour: withdrawn money stays gone.
  lost,
};

/// The status's name, as the API and the database write it.
std::string_view to_string(dispute_status s);

/// Parses a name written by `to_string(dispute_status)`.
std::optional<dispute_status> parse_dispute_status(std::string_view name);

/// Every status, in declaration order.
std::span<const dispute_status> all_dispute_statuses();

/// True for won and lost: the issuer has decided and no evidence is taken.
/// Only lost is final; a won dispute can still be lost to a second
/// chargeback.
bool is_closed(dispute_status s);

/// What moves a dispute from one status to another.
enum class dispute_event : std::uint8_t {
  escalated,           ///< an inquiry became a chargeback
  evidence_submitted,  ///< the merchant's evidence reached the PSP
  won,                 ///< the issuer decided for the merchant (or closed an inquiry)
  lost,                ///< the issuer decided for the shopper, or the merchant accepted
};

/// "escalated", "evidence_submitted", "won", "lost".
std::string_view to_string(dispute_event e);

/// The status `event` leads to from `from`; nothing when the table has no
/// such rule (the event is refused and changes nothing).
std::optional<dispute_status> dispute_transition(dispute_status from, dispute_event event);

/// The shortest walk of events from `from` to `to`: empty when they are the
/// same, nothing when `to` cannot be reached (e.g. anything from lost). The
/// engine records the PSP's newer status step by step.
std::optional<std::vector<dispute_event>> dispute_path(dispute_status from, dispute_status to);

/// One rule of the table, for docs and tests.
struct dispute_rule {
  dispute_status from;
  dispute_event event;
  dispute_status to;
  std::string_view cause;
};

/// The whole table.
std::span<const dispute_rule> dispute_rules();

/// A dispute as the engine keeps it (table `disputes`).
struct dispute {
  std::string id;  ///< "dp_..."
  std::string merchant_id;
  std::string intent_id;
  std::string psp;
  std::string psp_dispute_id;
  std::int64_t amount = 0;  ///< the disputed amount, minor units
  std::string currency;     ///< lowercase
  std::string reason;       ///< the PSP's reason, e.g. "fraudulent"
  dispute_status status = dispute_status::needs_response;
  /// Unix seconds; nothing when the issuer allows no response.
  std::optional<std::int64_t> evidence_due_by;
  /// The dispute fee the PSP charged (booked to psp_fees), minor units.
  std::int64_t fee = 0;
  bool funds_withdrawn = false;
  bool funds_reinstated = false;
  /// The PSP's time of the newest event applied (unix seconds): an older
  /// event never moves the status back.
  std::int64_t psp_updated = 0;
  /// The evidence sent, as a JSON object of strings ("{}" when none).
  std::string evidence_json = "{}";
  std::int64_t created = 0;  ///< unix seconds, ours
  std::int64_t version = 0;
};

/// One movement of money a dispute caused at the PSP (a chargeback debit or
/// its reversal, as the PSP reports it).
struct dispute_money_movement {
  std::string id;           ///< the PSP's id, unique per PSP
  std::int64_t amount = 0;  ///< signed: negative when withdrawn, positive when reinstated
  std::int64_t fee = 0;     ///< the PSP's fee on it (positive charged, negative returned)
  std::string currency;     ///< lowercase
  std::int64_t created = 0;
};

namespace postings {

/// The money one movement of a dispute moves, following the PSP's balance
/// transaction: the amount between `disputes` and `psp_receivable`, the fee
/// between `psp_fees` and `psp_receivable`. A withdrawal (amount -A, fee F):
/// Dr disputes A, Dr psp_fees F / Cr psp_receivable A+F. A reinstatement
/// (amount +A, fee -F when the PSP returns it): Dr psp_receivable A+F /
/// Cr disputes A, Cr psp_fees F. Refused when nothing moves.
result<journal_tx> dispute_funds(const posting_scope& scope, std::int64_t amount_minor,
                                 std::int64_t fee_minor);

/// A lost dispute's open balance becomes a realised loss, so `disputes`
/// holds only open disputes: Dr dispute_losses / Cr disputes (the sides
/// swap for a negative amount). Refused for zero.
result<journal_tx> dispute_loss(const posting_scope& scope, std::int64_t open_minor);

}  // namespace postings

/// What applying the PSP's view of a dispute books.
struct dispute_booking {
  /// One journal per new movement (in the given order), then the loss.
  std::vector<journal_tx> journals;
  /// The dispute's open balance in `disputes` after the journals.
  std::int64_t open_after_minor = 0;
};

/// The postings of `fresh` movements (ones not booked before) of a dispute
/// whose open balance in `disputes` is `open_minor`, and, when the dispute
/// is `lost`, the realisation of what stays open. Pure and idempotent by
/// construction: the caller passes only movements it has not booked, and a
/// lost dispute's open balance is zero after its first booking.
result<dispute_booking> dispute_postings(const posting_scope& scope,
                                         std::span<const dispute_money_movement> fresh,
                                         std::int64_t open_minor, dispute_status status);

/// The evidence fields a merchant may send (Stripe's text fields of
/// `dispute_evidence`; file fields need uploads the engine does not offer).
std::span<const std::string_view> dispute_evidence_fields();

/// Checks evidence before it goes to the PSP: at least one field, every
/// name known, every value a string within
/// limits::dispute_evidence_field_length_max, the total within
/// limits::dispute_evidence_total_length_max. invalid_request with the
/// field as param.
status validate_dispute_evidence(std::span<const std::pair<std::string, std::string>> fields);

/// Whether evidence may be sent now: only while the dispute needs a
/// response and before its due date (`now_s` in unix seconds).
status can_submit_evidence(const dispute& d, std::int64_t now_s);

}  // namespace pay::core
