#include "core/settlement.hpp"

#include <map>

#include "core/money.hpp"
#include "core/psp.hpp"

namespace pay::core {

namespace {

error overflow() {
  return make_error(errc::limit_exceeded, "A payout's sums do not fit in 64 bits.", "amount");
}

}  // namespace

result<settlement_plan> plan_settlement(std::span<const settlement_line> lines,
                                        std::string_view currency) {
  std::map<std::string, merchant_settlement> per_merchant;
  settlement_plan plan;
  for (const auto& line : lines) {
    if (line.currency != currency)
      return make_error(errc::invalid_request,
                        "Balance transaction " + line.balance_tx_id + " is in " + line.currency +
                            ", the payout in " + std::string(currency) + ".",
                        "currency");
    auto net = checked_sub(line.amount_minor, line.fee_minor);
    if (!net || *net != line.net_minor)
      return make_error(errc::invalid_request,
                        "Balance transaction " + line.balance_tx_id +
                            " has a net that is not its amount minus its fee.",
                        "net");
    if (!line.merchant_id) {
      ++plan.unmatched_lines;
      auto sum = checked_add(plan.unmatched_net_minor, line.net_minor);
      if (!sum) return overflow();
      plan.unmatched_net_minor = *sum;
      continue;
    }
    auto& m = per_merchant[*line.merchant_id];
    m.merchant_id = *line.merchant_id;
    ++m.lines;
    bool dispute = line.type == to_string(balance_tx_type::dispute);
    auto gross = checked_add(m.amounts.gross_minor, dispute ? line.net_minor : line.amount_minor);
    auto fee = checked_add(m.amounts.fee_minor, dispute ? 0 : line.fee_minor);
    auto merchant_net = checked_add(m.amounts.net_minor, line.net_minor);
    if (!gross || !fee || !merchant_net) return overflow();
    m.amounts = {*gross, *fee, *merchant_net};
  }
  for (auto& [id, m] : per_merchant) {
    if (m.amounts.gross_minor == 0 && m.amounts.fee_minor == 0) continue;
    auto sum = checked_add(plan.booked_net_minor, m.amounts.net_minor);
    if (!sum) return overflow();
    plan.booked_net_minor = *sum;
    plan.merchants.push_back(std::move(m));
  }
  return plan;
}

}  // namespace pay::core
