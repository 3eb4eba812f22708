#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// A verified PSP event as received, before any processing.
struct inbox_item {
  std::string psp;
  std::string event_id;
  std::string event_type;
  std::optional<std::string> object_id;  ///< the PSP object the event is about
  std::string payload;                   ///< the raw body, byte for byte
  std::string signature;                 ///< the signature header it came with
};

struct inbox_receipt {
  std::int64_t id = 0;
  bool duplicate = false;  ///< the PSP sent this event before: stored once
};

/// A claimed event: the caller holds its lease until it reports back.
struct inbox_row {
  std::int64_t id = 0;
  std::string psp;
  std::string event_id;
  std::string event_type;
  std::optional<std::string> object_id;
  std::string payload;
  int attempts = 0;  ///< including this one
  std::int64_t received_ms =
      0;  ///< receipt, or the last replay: the retry deadline counts from here
};

/// One failed attempt of a dead letter's event.
struct attempt_record {
  int attempt = 0;
  std::string error;
  std::int64_t at_ms = 0;
};

struct dead_letter_view {
  std::string id;
  std::int64_t inbox_id = 0;
  std::string psp;
  std::string event_id;
  std::string event_type;
  std::string reason;
  std::int64_t created_ms = 0;
  int replay_count = 0;
  bool resolved = false;
  std::vector<attempt_record> attempts;
};

/// How far behind the queue is.
struct inbox_stats {
  std::int64_t pending = 0;
  std::int64_t oldest_pending_age_ms = 0;
  std::int64_t dead_letters_open = 0;
};

/// Stores a verified event once per (psp, event id); a repeat is a duplicate.
core::result<inbox_receipt> inbox_add(pg_connection& conn, const inbox_item& item);

/// Claims up to `batch_max` due events for `lease_ms` (FOR UPDATE SKIP
/// LOCKED, so engine processes never claim the same row), counting the
/// attempt. A claim that is never reported back lapses and is claimed again:
/// that is how a restart re-delivers what a crash left unprocessed. The
/// claim names this process (core::instance_id); a claim whose process has
/// no database connection any more is claimable at once, lease or not.
core::result<std::vector<inbox_row>> inbox_claim(pg_connection& conn, std::size_t batch_max,
                                                 std::int64_t lease_ms);

/// Marks an event processed without an intent change (not for an intent).
core::status inbox_mark_processed(pg_connection& conn, std::int64_t id, const std::string& outcome);

/// Records a failed attempt and makes the event due again after `delay_ms`.
core::status inbox_retry_later(pg_connection& conn, std::int64_t id, int attempt,
                               const std::string& error, std::int64_t delay_ms);

/// Records the last failed attempt and moves the event to the dead letters.
core::status inbox_dead_letter(pg_connection& conn, std::int64_t id, int attempt,
                               const std::string& error, const std::string& reason);

/// Dead letters, newest first, each with its attempts.
core::result<std::vector<dead_letter_view>> list_dead_letters(pg_connection& conn,
                                                              bool include_resolved,
                                                              std::size_t limit);

/// Makes one dead letter's event (or, without an id, every unresolved one)
/// due again with a fresh attempt budget; answers the dead letter ids.
core::result<std::vector<std::string>> replay_dead_letters(pg_connection& conn,
                                                           const std::optional<std::string>& id);

/// The engine's intent for a PSP intent id, if the engine has one; else the
/// intent `engine_reference` names (the PSP echoed the engine's id back), if
/// it is one of this PSP's. An empty `engine_reference` names none.
core::result<std::optional<std::string>> intent_id_for_psp_reference(
    pg_connection& conn, const std::string& psp, const std::string& reference,
    const std::string& engine_reference);

/// Intents waiting on the shopper or the PSP with no change for `idle_ms`.
core::result<std::vector<std::string>> stuck_intents(pg_connection& conn, std::int64_t idle_ms,
                                                     std::size_t limit);

core::result<inbox_stats> read_inbox_stats(pg_connection& conn);

/// Hex to bytes (libpq returns bytea as hex via encode()).
std::string from_hex(std::string_view hex);

}  // namespace pay::storage
