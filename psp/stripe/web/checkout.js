// Stripe's front ends for the engine's hosted checkout page (served as
// /checkout/psp/stripe.js and /checkout/psp/sandbox.js; see
// net/web/checkout/pay.js for the `page` each mount is given):
// - "stripe": Stripe.js Elements, which confirms the payment in the browser
//   and runs 3-D Secure itself;
// - "sandbox": the sandbox PSP's card iframe, which speaks to the page by
//   postMessage.
// Either way the card is typed into the PSP's own form and goes to the PSP
// only; the page trusts no outcome from here and waits for the engine.
'use strict';
(function () {
  function mountStripe(page) {
    page.loadScript(page.session.psp.script_url, function () {
      var stripe = window.Stripe(page.session.psp.publishable_key);
      var form = document.createElement('form');
      form.id = 'stripe-form';
      var card = document.createElement('div');
      card.id = 'stripe-card';
      card.className = 'psp-card';
      var button = document.createElement('button');
      button.id = 'stripe-pay';
      button.type = 'submit';
      button.textContent = 'Pay';
      form.appendChild(card);
      form.appendChild(button);
      page.holder.appendChild(form);
      var element = stripe.elements().create('card');
      element.mount('#stripe-card');
      page.show();
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        button.disabled = true;
        page.processing();
        // Stripe.js shows the 3-D Secure challenge itself when the bank asks.
        stripe.confirmCardPayment(page.session.client_secret, { payment_method: { card: element } })
          .then(function (result) {
            button.disabled = false;
            if (result.error) return page.declined(result.error.message);
            page.confirming();
          });
      });
    });
  }

  function mountSandbox(page) {
    var psp = page.session.psp;
    function frameForm() {
      page.holder.textContent = '';
      var url = new URL(psp.iframe_url);
      url.searchParams.set('client_secret', page.session.client_secret);
      url.searchParams.set('publishable_key', psp.publishable_key);
      // The card form posts its messages to this origin only.
      url.searchParams.set('parent_origin', window.location.origin);
      var frame = document.createElement('iframe');
      frame.id = 'psp-frame';
      frame.title = 'Secure card form';
      frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
      frame.src = url.toString();
      page.holder.appendChild(frame);
      page.show();
      return frame;
    }
    var frame = frameForm();
    window.addEventListener('message', function (ev) {
      if (ev.origin !== psp.origin || ev.source !== frame.contentWindow) return;
      var data = ev.data || {};
      if (data.source !== 'psp-sandbox') return;
      if (data.type === 'requires_action') {
        page.challenge('Complete the 3-D Secure check in the card form.');
      } else if (data.type === 'payment_failed') {
        // A fresh form for the next card; the PSP's intent is back to
        // requires_payment_method and accepts another confirmation.
        frame = frameForm();
        if (data.error && data.error.message) return page.declined(data.error.message);
        page.lastPaymentError('The card could not be authenticated.').then(page.declined);
      } else if (data.type === 'payment_confirmed') {
        page.confirming();
      }
    });
  }

  window.payCheckout.register('stripe', mountStripe);
  window.payCheckout.register('sandbox', mountSandbox);
})();
