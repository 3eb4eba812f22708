#pragma once

/// A merchant's routing rules (versioned, append-only) and the routing
/// decisions of creates (which PSP each attempt went to, and why), in the
/// tables of migration 0014.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/psp.hpp"
#include "core/routing.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// One version of a merchant's rules; version 0: the merchant never set any.
struct routing_record {
  std::int64_t version = 0;
  core::routing_rules rules;
  std::int64_t created = 0;  ///< unix seconds; 0 for version 0
  std::string actor;
};

/// One attempt of a create at one PSP, recorded before the PSP call.
struct routing_attempt {
  std::string intent_id;
  std::int32_t attempt = 0;
  std::string merchant_id;
  std::string psp;
  std::vector<std::string> candidates;  ///< the whole ordered list the create walks
  std::string reason;                   ///< "rule 0", "stripe breaker open", ...
  bool previous_may_exist = false;      ///< the previous attempt may have left an orphan
  std::int64_t created = 0;             ///< unix seconds (read back only)
  /// The PSP idempotency key this attempt sends, and the create it sends
  /// (migration 0017): what the orphan rescan sends again to find what the
  /// attempt left at its PSP. Empty / nullopt on rows recorded before 0017.
  std::string psp_key = {};
  std::optional<core::psp_create_intent> request = {};
};

/// What a create needs to route: the merchant's current rules and what an
/// earlier attempt of the same create already tried.
struct routing_plan {
  routing_record current;
  std::vector<routing_attempt> attempts;  ///< by attempt, oldest first
};

/// What became of an orphan: "canceled", "expires" or "none".
struct routing_orphan {
  std::string intent_id;
  std::int32_t attempt = 0;
  std::string outcome;
  std::optional<std::string> psp_reference;
};

/// The merchant's current rules (version 0 when none were ever set).
core::result<routing_record> load_routing(pg_connection& conn, const std::string& merchant_id);

/// Stores `rules` (already validated) as the merchant's next version, with
/// an audit event, in one transaction; answers the stored version.
core::result<routing_record> replace_routing(pg_connection& conn, const std::string& merchant_id,
                                             const core::routing_rules& rules,
                                             const std::string& actor);

/// The attempts recorded for one of a merchant's creates, oldest first.
core::result<std::vector<routing_attempt>> load_routing_attempts(pg_connection& conn,
                                                                 const std::string& merchant_id,
                                                                 const std::string& intent_id);

/// The merchant's rules and the attempts recorded for `intent_id`.
core::result<routing_plan> load_routing_plan(pg_connection& conn, const std::string& merchant_id,
                                             const std::string& intent_id);

/// Records an attempt before its PSP call. Recording one that exists is a
/// no-op (a retry that lost the answer of its own insert).
core::status record_routing_attempt(pg_connection& conn, const routing_attempt& a);

/// Records what became of an orphan, once.
core::status record_routing_orphan(pg_connection& conn, const routing_orphan& o);

/// Attempts that may have left an intent at their PSP (the attempt after
/// them failed over with previous_may_exist), with no routing_orphans row
/// yet, whose failover is older than `grace_ms`, oldest first, at most
/// `limit`. Only attempts that recorded their PSP key and create (0017).
core::result<std::vector<routing_attempt>> due_routing_orphans(pg_connection& conn,
                                                               std::int64_t grace_ms,
                                                               std::size_t limit);

/// Routing orphans by state, for /metrics: every attempt that may have left
/// one (found), those handled by outcome, and those still to handle.
struct routing_orphan_counts {
  std::int64_t found = 0;
  std::int64_t canceled = 0;
  std::int64_t expires = 0;
  std::int64_t none = 0;
  std::int64_t pending = 0;
};
core::result<routing_orphan_counts> count_routing_orphans(pg_connection& conn);

/// The latest attempts of one merchant (newest first), for the inspector and
/// GET /v1/routing.
core::result<std::vector<routing_attempt>> recent_routing_attempts(pg_connection& conn,
                                                                   const std::string& merchant_id,
                                                                   std::size_t limit);

}  // namespace pay::storage
