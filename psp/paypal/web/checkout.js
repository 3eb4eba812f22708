// PayPal's front end for the engine's hosted checkout page (served as
// /checkout/psp/paypal.js; see net/web/checkout/pay.js for the `page` it is
// given). The shopper approves the order at PayPal: the page offers one
// button that opens PayPal's approval page (the order's approve link, which
// the engine hands over as the client secret), and PayPal sends the shopper
// back to this page, which then waits for the engine to confirm the order.
'use strict';
(function () {
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
      return page.confirming();
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
