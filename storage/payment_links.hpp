#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/payment_intent.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// A merchant's payment link: what its hosted checkout page charges.
struct payment_link {
  std::string id;  ///< plink_...
  std::string merchant_id;
  std::int64_t amount = 0;  ///< minor units of `currency`
  std::string currency;     ///< lowercase ISO 4217
  std::optional<std::string> description;
  core::capture_method capture = core::capture_method::automatic;
  /// The PSP its intents go to; nullopt (links made before PSPs could be
  /// chosen): the engine's default.
  std::optional<std::string> psp;
  /// Its create named no PSP (migration 0017): each visit's intent is placed
  /// by the merchant's routing rules, with failover, as an API create that
  /// names none; `psp` (the merchant's default then) is where it goes when
  /// no rule matches. Links made before 0017 keep their PSP.
  bool routed = false;
  bool active = true;
  std::int64_t created = 0;  ///< unix seconds
};

/// One page of a merchant's links, newest first.
struct payment_link_page {
  std::vector<payment_link> data;
  bool has_more = false;
};

/// Inserts `link` unless a link with its id exists; answers the stored link
/// either way (a retried create finds the first one). An existing id of
/// another merchant is refused as invalid_request: ids are unguessable, so
/// that is a bug, never a shopper.
core::result<payment_link> create_payment_link(pg_connection& conn, const payment_link& link);

/// The link with this id; with `merchant_id`, only that merchant's (another
/// merchant's link is not_found, as an unknown one).
core::result<payment_link> find_payment_link(pg_connection& conn, const std::string& id,
                                             const std::optional<std::string>& merchant_id);

/// Turns the merchant's link on or off (an inactive link's page answers 410
/// and makes no intent); answers the link as stored. Another merchant's or
/// an unknown link is not_found.
core::result<payment_link> set_payment_link_active(pg_connection& conn, const std::string& id,
                                                   const std::string& merchant_id, bool active);

/// The merchant's links, newest first, after `starting_after`.
core::result<payment_link_page> list_payment_links(
    pg_connection& conn, const std::string& merchant_id, std::size_t limit,
    const std::optional<std::string>& starting_after);

/// The intent a visit of a link pays, if that visit has one.
core::result<std::optional<std::string>> find_link_visit(pg_connection& conn,
                                                         const std::string& link_id,
                                                         const std::string& visit_hash);

/// Records the visit's intent; recording the same pair again is a no-op. A
/// visit already mapped to another intent keeps its first one, which is
/// answered.
core::result<std::string> record_link_visit(pg_connection& conn, const std::string& link_id,
                                            const std::string& visit_hash,
                                            const std::string& intent_id);

}  // namespace pay::storage
