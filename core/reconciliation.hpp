#pragma once

/// Reconciliation: the pure comparison of the PSP's records of a day with
/// ours. The caller (actors/settlement_actor.cpp) gathers both sides; this
/// function decides, record by record, what differs. No I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pay::core {

/// What kind of disagreement a difference is.
enum class difference_kind : std::uint8_t {
  missing_in_ledger,  ///< the PSP has it, we do not
  missing_at_psp,     ///< we have it, the PSP does not
  amount_differs,
  currency_differs,
  status_differs,
};

/// "missing_in_ledger", ...
std::string_view to_string(difference_kind kind);
std::optional<difference_kind> parse_difference_kind(std::string_view name);

/// Every kind, in declaration order.
std::span<const difference_kind> all_difference_kinds();

/// What a record is about.
enum class record_object : std::uint8_t { charge, refund, fee, payout, dispute };

/// "charge", "refund", "fee", "payout", "dispute".
std::string_view to_string(record_object object);

/// One side's record of one thing. Records of both sides meet on
/// (object, key): the PSP's payment intent id for a charge, the PSP's refund
/// id for a refund, the PSP's balance transaction id for a fee, the PSP's
/// payout id for a payout, the PSP's dispute id for a dispute (its amount the
/// signed sum of the money it moved: withdrawn negative, reinstated positive).
struct recon_record {
  record_object object = record_object::charge;
  std::string key;
  /// This side's own name for it (the PSP's balance transaction or payout
  /// id; our intent, refund, or settlement id), stored with a difference.
  std::string reference;
  std::int64_t amount_minor = 0;
  std::string currency;
  /// Compared only when both sides give one (empty: not comparable).
  std::string status;
  /// When it happened on this side, unix seconds.
  std::int64_t at_s = 0;
};

/// The day under comparison: [from_s, to_s) in unix seconds. Both sides are
/// gathered over a wider range (see limits::reconciliation_grace_s) so a
/// record near midnight finds its counterpart; a record belongs to the day
/// its PSP side was created in (ours when the PSP has none).
struct recon_window {
  std::int64_t from_s = 0;
  std::int64_t to_s = 0;
};

/// One disagreement, with both sides' references.
struct recon_difference {
  difference_kind kind = difference_kind::missing_in_ledger;
  record_object object = record_object::charge;
  std::string psp_reference;  ///< empty when the PSP has no record
  std::string our_reference;  ///< empty when we have no record
  std::optional<std::int64_t> psp_amount_minor;
  std::optional<std::int64_t> our_amount_minor;
  std::string psp_currency;
  std::string our_currency;
  std::string psp_status;
  std::string our_status;
  std::string detail;  ///< one sentence for the operator

  friend bool operator==(const recon_difference&, const recon_difference&) = default;
};

/// The outcome of one comparison.
struct recon_result {
  std::vector<recon_difference> differences;
  std::size_t psp_records = 0;  ///< PSP records of the day
  std::size_t our_records = 0;  ///< our records of the day
  std::size_t matched = 0;      ///< records of the day found on both sides
};

/// Compares `ours` with `theirs` for `day`. Records on one side with the same
/// (object, key) are one record whose amounts add up (a partial capture and
/// its balance transaction, say). Per record of the day:
/// - only at the PSP: missing_in_ledger; only ours: missing_at_psp;
/// - both: currency_differs (then amounts are not compared), else
///   amount_differs; and status_differs when both give a status and they
///   differ.
/// Records outside the day are not judged. Differences are ordered by
/// object, then key, then kind: the same inputs give the same list.
recon_result reconcile(std::span<const recon_record> ours, std::span<const recon_record> theirs,
                       const recon_window& day);

/// The UTC day "YYYY-MM-DD" as its window [00:00, 24:00) in unix seconds;
/// nullopt when the text is not a valid date (1970 to 9999).
std::optional<recon_window> utc_day_window(std::string_view day);

/// The UTC day (YYYY-MM-DD) holding unix second `at_s`.
std::string utc_day_of(std::int64_t at_s);

/// "HH:MM" or "HH:MM:SS" as seconds after midnight; nullopt when not a
/// valid time.
std::optional<std::int64_t> parse_time_of_day(std::string_view text);

/// Seconds from `now_s` until the next `time_of_day_s` (UTC), in (0, 86400].
std::int64_t seconds_until(std::int64_t now_s, std::int64_t time_of_day_s);

}  // namespace pay::core
