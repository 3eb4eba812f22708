#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// A merchant as authentication sees it.
struct merchant {
  std::string id;
  std::string name;
  /// The PSP this merchant's intents go to unless a request names one;
  /// nullopt: the engine's default.
  std::optional<std::string> default_psp = {};
};

/// Sets the PSP the merchant's intents go to unless a request names one
/// (nullopt: the engine's default), with its audit event, in one
/// transaction. Whether a PSP of that name is configured is the engine's
/// check at request time (an unknown default falls back to the engine's).
core::status set_default_psp(pg_connection& conn, const std::string& merchant_id,
                             const std::optional<std::string>& psp, const std::string& actor);

/// Returns the id of the merchant named `name`, creating it if absent.
core::result<std::string> ensure_merchant(pg_connection& conn, const std::string& name);

/// Attaches `secret_key` (stored only as its hash) to the merchant; adding the
/// same key again is a no-op, a key already owned by another merchant is an
/// error.
core::status add_api_key(pg_connection& conn, const std::string& merchant_id,
                         const std::string& secret_key);

/// The merchant owning this (unrevoked) key hash, or nullopt.
core::result<std::optional<merchant>> find_merchant_by_key_hash(pg_connection& conn,
                                                                const std::string& key_hash);

}  // namespace pay::storage
