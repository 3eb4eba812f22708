#pragma once

#include <string>

#include "actors/messages.hpp"

/// JSON shapes of the ledger endpoints (docs/ledger.md).
namespace pay::net {

std::string accounts_json(const actors::account_page& page);
std::string entries_json(std::int64_t account_id, const actors::entry_page& page);
std::string ledger_transactions_json(const actors::ledger_transactions& list);
std::string trial_balance_json(const actors::trial_balance_lines& lines);

}  // namespace pay::net
