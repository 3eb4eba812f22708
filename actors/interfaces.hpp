#pragma once

// Every typed actor interface of the engine, on one page, so the whole
// message protocol can be read at once. Handlers that can fail answer a
// caf::error made by to_caf_error (category "payment").

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"

namespace pay::actors {

/// The STORAGE actor: owns one PostgreSQL connection on its own thread
/// (spawned detached), reconnects with backoff, answers storage_unavailable
/// while the database is away.
using storage_actor = caf::typed_actor<
    // Resolves the SHA-256 hash of an API key to its merchant (nullopt: no such key).
    caf::replies_to<authenticate_atom, std::string>::with<merchant_ref>,
    // Reports whether the database answers and every migration is applied.
    caf::replies_to<ready_atom>::with<readiness>,
    // Lists one merchant's payment intents, newest first.
    caf::replies_to<list_atom, list_query>::with<storage::intent_page>,
    // Reads one of a merchant's intents: (merchant id, intent id).
    caf::replies_to<fetch_atom, std::string, std::string>::with<core::payment_intent>>;

}  // namespace pay::actors
