#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/payment_intent.hpp"
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

}  // namespace pay::storage
