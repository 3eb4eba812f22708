// Adyen's front end for the engine's hosted checkout page (served as
// /checkout/psp/adyen.js; see net/web/checkout/pay.js for the `page` it is
// given): Adyen Web's card Component in the sessions flow. Adyen Web runs the
// whole payment, 3-D Secure included; its result is the shopper's view only:
// the engine learns the outcome from Adyen's notification, and the page waits
// for the engine.
'use strict';
(function () {
  function mountAdyen(page) {
    var adyenSession;
    try {
      // The engine hands Adyen's session over as {"id", "sessionData"}.
      adyenSession = JSON.parse(page.session.client_secret);
    } catch (e) {
      return page.failed();
    }
    page.loadScript(page.session.psp.script_url, function () {
      window.AdyenCheckout({
        environment: page.session.psp.environment || 'test',
        clientKey: page.session.psp.publishable_key,
        session: { id: adyenSession.id, sessionData: adyenSession.sessionData },
        onPaymentCompleted: function (result) {
          var code = result && result.resultCode;
          if (code === 'Authorised' || code === 'Received' || code === 'Pending') {
            return page.confirming();
          }
          // Refused or failed: the component stays for another card.
          page.declined(code === 'Refused' ? 'The card was declined.'
                                           : 'The payment did not go through.');
        },
        onError: function () {
          page.declined('The payment did not go through.');
        }
      }).then(function (checkout) {
        var card = document.createElement('div');
        card.id = 'adyen-card';
        page.holder.appendChild(card);
        checkout.create('card').mount('#adyen-card');
        page.show();
      }, page.failed);
    });
  }

  window.payCheckout.register('adyen', mountAdyen);
})();
