#pragma once

#include <string>

/// The buyer's approval page of the PayPal mode (/paypal/checkoutnow), as
/// the buyer sees it once "logged in" as the fixed sandbox buyer.
namespace pay::sandbox::paypal {

struct approval_view {
  std::string order_id;
  std::string amount;    ///< "25.99"
  std::string currency;  ///< "EUR"
  std::string merchant;  ///< the payee's name
  std::string buyer_email;
  std::string status;  ///< the order's status now
  bool approvable = true;
};

/// The HTML page: the order, a select #funding (balance, deny_capture,
/// pending_capture) and the buttons #approve and #cancel, which POST the
/// form to /paypal/checkoutnow. No script: it works in any browser.
std::string approval_html(const approval_view& view);

/// A short page for an order that is not (or no longer) approvable, or
/// for an approval without a return_url.
std::string message_html(const std::string& title, const std::string& text);

}  // namespace pay::sandbox::paypal
