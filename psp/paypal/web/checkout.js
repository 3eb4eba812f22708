// PayPal's front end for the engine's hosted checkout page (served as
// /checkout/psp/paypal.js; see net/web/checkout/pay.js for the `page` it is
// given). The shopper approves the order at PayPal: the page offers one
// button that opens PayPal's approval page (the order's approve link, which
// the engine hands over as the client secret), and PayPal sends the shopper
// back to this page, which then waits for the engine to confirm the order.
'use strict';
(function () {
  // How often and how long the returned page looks for a refused confirmation.
  var DECLINE_CHECK_MS = 1000;
  var DECLINE_CHECKS_MAX = 120;

  function mountPayPal(page) {
    var approve = page.session.client_secret;
    var url;
    try {
      url = new URL(approve);
    } catch (e) {
      return page.failed();
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return page.failed();
    var back = new URLSearchParams(window.location.search);
    if (back.get('token') && back.get('PayerID')) {
      // Back from PayPal with the order approved: the engine confirms it.
      // The page waits for paid; a confirmation PayPal refuses (a denied
      // capture) leaves the intent unpaid with its last_payment_error, which
      // is told here (this approval's only outcome besides paid).
      page.confirming();
      var checks = 0;
      (function watch() {
        page.lastPaymentError(null).then(function (message) {
          if (message) return page.declined('PayPal declined the payment: ' + message + '.');
          checks += 1;
          if (checks < DECLINE_CHECKS_MAX) window.setTimeout(watch, DECLINE_CHECK_MS);
        });
      })();
      return;
    }
    var button = document.createElement('button');
    button.id = 'paypal-pay';
    button.type = 'button';
    button.textContent = 'Pay with PayPal';
    button.addEventListener('click', function () {
      button.disabled = true;
      window.location.assign(url.toString());
    });
    page.holder.appendChild(button);
    if (back.get('paypal') === 'cancel') page.declined('The payment at PayPal was canceled.');
    page.show();
  }

  window.payCheckout.register('paypal', mountPayPal);
})();
