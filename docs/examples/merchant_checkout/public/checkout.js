// The shop's checkout page: mounts the PSP's card iframe with the order's
// client secret. Card data is typed into the iframe and goes to the PSP only.
'use strict';
(async function () {
  const message = document.getElementById('message');
  const order = await (await fetch('/orders', { method: 'POST' })).json();
  document.getElementById('amount').textContent = order.amount;

  const src = new URL(order.iframe_url);
  src.searchParams.set('client_secret', order.client_secret);
  src.searchParams.set('publishable_key', order.publishable_key);
  // The card form posts its messages to this origin only.
  src.searchParams.set('parent_origin', window.location.origin);
  const frame = document.createElement('iframe');
  frame.id = 'card-frame';
  frame.title = 'Card';
  frame.width = '420';
  frame.height = '320';
  frame.src = src.toString();
  document.getElementById('card').appendChild(frame);

  window.addEventListener('message', (ev) => {
    // Only the PSP's frame may talk to this page.
    if (ev.origin !== order.psp_origin || ev.source !== frame.contentWindow) return;
    const data = ev.data || {};
    if (data.type === 'payment_failed') {
      const reason = (data.error && data.error.message) || 'The card was not authenticated.';
      message.textContent = reason + ' Try another card.';
      frame.src = src.toString(); // a fresh form; the intent accepts another card
    } else if (data.type === 'payment_confirmed') {
      waitUntilPaid();
    }
  });

  // The frame's word is not proof: ask the shop server, which asks the engine.
  async function waitUntilPaid() {
    message.textContent = 'Confirming your payment...';
    for (;;) {
      const status = await (await fetch('/orders/' + order.order)).json();
      if (status.paid) {
        message.textContent = 'Paid. Thank you!';
        document.body.dataset.state = 'paid';
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
})();
