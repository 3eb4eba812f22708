#pragma once

/// A merchant's routing rules (versioned, append-only) and the routing
/// decisions of creates (which PSP each attempt went to, and why), in the
/// tables of migration 0014.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
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

/// The latest attempts of one merchant (newest first), for the inspector and
/// GET /v1/routing.
core::result<std::vector<routing_attempt>> recent_routing_attempts(pg_connection& conn,
                                                                   const std::string& merchant_id,
                                                                   std::size_t limit);

}  // namespace pay::storage
