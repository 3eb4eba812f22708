#pragma once

/// The queries of authorisation expiry: which authorised intents lapsed,
/// which are due a warning, and the warning itself (the outbound event and
/// the intent's warned mark in one transaction). The expiry itself is an
/// ordinary intent write by the intent's actor (storage::write_intent).

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// Authorised intents whose expires_at has passed, earliest first, at most
/// `limit`.
core::result<std::vector<std::string>> due_expiries(pg_connection& conn, std::size_t limit);

/// Warns the merchants of authorised intents that lapse within `lead_s`
/// and were not warned yet, at most `limit`: for each, in one transaction,
/// marks the intent warned, writes an audit row (action
/// `authorization_expiring`) and appends the outbound event
/// payment_intent.authorization_expiring. Answers the ids warned.
core::result<std::vector<std::string>> send_expiry_warnings(pg_connection& conn,
                                                            std::int64_t lead_s, std::size_t limit);

/// How many authorised intents lapse within `lead_s` from now (not yet
/// lapsed): the metrics' gauge.
core::result<std::int64_t> count_expiring(pg_connection& conn, std::int64_t lead_s);

}  // namespace pay::storage
