#pragma once

/// The disputes repository: a dispute recorded from the PSP's news with its
/// money booked, the evidence sent, and the reads of the API, the inspector
/// and /metrics. Tables: storage/migrations/0012_disputes.sql.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dispute.hpp"
#include "core/error.hpp"
#include "core/psp.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// The PSP's news about a dispute, to record.
struct dispute_news {
  std::string psp;
  core::psp_dispute view;
  std::string event_id;            ///< the PSP's event id, for the audit row
  std::string psp_type;            ///< the PSP's event type, for the audit row
  std::int64_t event_created = 0;  ///< the PSP's time of the event (unix seconds)
  /// The inbox row marked processed in the same transaction; nullopt when
  /// recording outside a webhook (tests, a poll).
  std::optional<std::int64_t> inbox_id;
};

/// Records `news` in ONE transaction: the inbox row processed, the dispute
/// inserted or updated (its status moved along core::dispute_path only when
/// the news is not older than what was applied), one audit row per change,
/// the journals of every movement not booked before and of a loss
/// (core::dispute_postings), and the movements. Answers what changed, as text.
/// Errors: not_found (param "payment_intent") when the engine has no
/// intent for the dispute yet (nothing written; retry later);
/// already_processed when the inbox row was processed before. The inbox row's
/// outcome is core::inbox_outcome::dispute; the answer's text (the dispute's
/// id and what changed) is for the log.
core::result<std::string> record_dispute(pg_connection& conn, const dispute_news& news);

/// One of the merchant's disputes; another merchant's or an unknown id is
/// not_found.
core::result<core::dispute> find_dispute(pg_connection& conn, const std::string& merchant_id,
                                         const std::string& id);

/// What a dispute list asks.
struct dispute_query {
  std::string merchant_id;
  std::size_t limit = 10;
  std::optional<std::string> starting_after;  ///< a dispute id of the merchant's
  std::optional<core::dispute_status> status;
  std::optional<std::string> intent_id;
};

struct dispute_page {
  std::vector<core::dispute> data;
  bool has_more = false;
};

/// The merchant's disputes, newest first, filtered.
core::result<dispute_page> list_disputes(pg_connection& conn, const dispute_query& q);

/// The disputes of one of the merchant's intents, oldest first.
core::result<std::vector<core::dispute>> disputes_of_intent(pg_connection& conn,
                                                            const std::string& merchant_id,
                                                            const std::string& intent_id);

/// Records evidence the PSP accepted: the evidence, its time, and the
/// status the PSP answered (under_review) when the dispute's table allows
/// the walk from where the row stands now (its webhook may have moved it
/// first), under the row's lock, with one audit row per step. Answers the
/// dispute as stored.
core::result<core::dispute> record_evidence(pg_connection& conn, const core::dispute& before,
                                            const std::string& evidence_json,
                                            core::dispute_status psp_status);

/// Open disputes (not won or lost) of every merchant, by deadline, at most
/// limits::disputes_open_scan_max: the inspector's view and /metrics.
core::result<std::vector<core::dispute>> open_disputes(pg_connection& conn);

}  // namespace pay::storage
