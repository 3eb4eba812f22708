#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/idempotency.hpp"
#include "core/inbox_outcome.hpp"
#include "core/payment_intent.hpp"
#include "storage/ledger.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// One page of a merchant's intents, newest first.
struct intent_page {
  std::vector<core::payment_intent> data;
  bool has_more = false;
};

/// The merchant's intents, newest first, after `starting_after` (an id of
/// that merchant's). Another merchant's id is not_found, as an unknown one.
core::result<intent_page> list_intents(pg_connection& conn, const std::string& merchant_id,
                                       std::size_t limit,
                                       const std::optional<std::string>& starting_after);

/// One of the merchant's intents; another merchant's id is not_found.
core::result<core::payment_intent> find_intent(pg_connection& conn, const std::string& merchant_id,
                                               const std::string& id);

/// Any merchant's intent by id, for hydrating its actor (commands then check
/// the merchant themselves).
core::result<core::payment_intent> load_intent(pg_connection& conn, const std::string& id);

/// Everything one accepted command or PSP event changes, written in ONE
/// transaction: the intent (insert, or update guarded by its version), its
/// audit rows, a refund row, and the idempotency key's recovery point.
struct intent_write {
  core::payment_intent intent;         ///< the state after the change
  std::int64_t expected_version = -1;  ///< -1 inserts a new intent at version 0
  std::vector<core::audit_event> audit;
  std::optional<core::refund> refund;  ///< inserted, or its status updated
  std::optional<std::int64_t> idempotency_id;
  std::optional<core::recovery_point> recovery_point;
  /// A webhook event this write applies: marked processed in the same
  /// transaction, so an event is applied exactly once (a second application
  /// is refused with already_processed).
  std::optional<std::int64_t> inbox_id = std::nullopt;
  /// What the inbox row records as its outcome (webhook_inbox.outcome).
  core::inbox_outcome inbox_outcome = core::inbox_outcome::applied;
  /// false: the intent itself is unchanged (an ignored event); only the audit
  /// rows and the inbox are written, and the version stays.
  bool touch_intent = true;
  /// The ledger postings the change implies (core::postings_for_transition),
  /// written in the same transaction: no transition without its postings,
  /// no postings without their transition.
  std::vector<ledger_posting> postings = {};
  /// `refund` failed at the PSP after it was booked: its booking is
  /// reversed in the same transaction (reverse_refund_booking).
  bool reverses_refund = false;
  /// The intent's confirmed capture failed at the PSP: its booking is
  /// reversed and the hold set to the intent's amount_capturable in the same
  /// transaction (reverse_capture_booking).
  bool reverses_capture = false;
  /// With `idempotency_id`: the request's final answer, stored with the
  /// change in the same transaction (recovery point `finished`, the lease
  /// released), so a create's intent, audit row and answer commit together.
  std::optional<int> answer_status = std::nullopt;
  std::string answer_body = {};
};

/// Applies `w`; answers the intent's new version, or version_conflict when
/// another writer got there first (nothing is written then).
core::result<std::int64_t> write_intent(pg_connection& conn, const intent_write& w);

/// The intent's audit history, oldest first.
core::result<std::vector<core::audit_event>> list_audit(pg_connection& conn,
                                                        const std::string& merchant_id,
                                                        const std::string& intent_id);

/// The refund booked for a PSP refund id, if any.
core::result<std::optional<core::refund>> find_refund_by_psp_reference(pg_connection& conn,
                                                                       const std::string& ref);

/// One of the merchant's refunds; another merchant's id is not_found.
core::result<core::refund> find_refund(pg_connection& conn, const std::string& merchant_id,
                                       const std::string& id);

}  // namespace pay::storage
