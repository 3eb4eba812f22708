#pragma once

// The engine's message vocabulary: atoms and the value types actors exchange,
// in one place. Every actor runs in this process and messages are never
// serialised, so the value types are whitelisted as local-only below rather
// than given inspectors (CAF 0.17's inspectors know no std::optional).

#include <cstddef>
#include <optional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "core/error.hpp"
#include "core/payment_intent.hpp"
#include "storage/intents.hpp"
#include "storage/merchants.hpp"

namespace pay::actors {

// CAF 0.17 atoms: at most 10 characters each.
using authenticate_atom = caf::atom_constant<caf::atom("auth")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;

/// Who an API key belongs to; nullopt for an unknown or revoked key.
using merchant_ref = std::optional<storage::merchant>;

/// What /readyz reports.
struct readiness {
  bool database_ok = false;
  bool migrations_ok = false;
  std::string detail;  ///< why not ready, for the operator
};

/// A page request over a merchant's intents.
struct list_query {
  std::string merchant_id;
  std::size_t limit = 10;
  std::optional<std::string> starting_after;
};

/// The category of every engine error carried in a caf::error.
inline constexpr caf::atom_value error_category = caf::atom("payment");

}  // namespace pay::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::merchant_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::readiness)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::actors::list_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::storage::intent_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pay::core::payment_intent)
