// The hosted checkout page. It holds no secret and trusts no browser-side
// outcome: it asks the engine for its visit's intent (POST session), mounts
// the PSP's card form with that intent's client secret, and shows success
// only once the engine itself reports the intent authorized or captured
// (GET status). Card data is typed into the PSP's iframe and goes to the PSP
// only. The PSP that holds the intent names its front end (session.psp.kind):
// the sandbox's card iframe, Stripe.js Elements, or Adyen Web.
'use strict';
(function () {
  var POLL_MS = 700;
  var POLL_PATIENCE_MS = 60000;
  var SESSION_RETRIES_MAX = 10;

  var linkId = decodeURIComponent(window.location.pathname.split('/')[2] || '');
  var base = '/pay/' + encodeURIComponent(linkId);
  var session = null;
  var polling = false;

  function el(id) { return document.getElementById(id); }

  function setState(state) { document.body.setAttribute('data-state', state); }

  function tell(kind, text) {
    var message = el('message');
    message.className = 'message ' + kind;
    message.textContent = text;
  }

  function readJson(res) {
    return res.json().then(function (json) { return { status: res.status, ok: res.ok, json: json }; },
                           function () { return { status: res.status, ok: false, json: {} }; });
  }

  function errorText(json, fallback) {
    return (json && json.error && json.error.message) || fallback;
  }

  function showPaid() {
    polling = false;
    el('payment').hidden = true;
    el('success-amount').textContent = session.payment_link.amount_display;
    el('success').hidden = false;
    tell('', '');
    setState('paid');
  }

  // ---- the engine's view: the only proof of payment ------------------------------

  function pollStatus() {
    if (polling) return;
    polling = true;
    var started = Date.now();
    (function once() {
      if (!polling) return;
      fetch(base + '/status', { credentials: 'same-origin', cache: 'no-store' })
        .then(readJson)
        .then(function (r) {
          if (r.ok && r.json.paid) return showPaid();
          if (r.ok && (r.json.status === 'canceled' || r.json.status === 'expired')) {
            polling = false;
            setState('closed');
            return tell('error', 'This payment was canceled.');
          }
          if (Date.now() - started > POLL_PATIENCE_MS) {
            tell('pending', 'Your payment is still being confirmed; this page updates by itself.');
          }
          window.setTimeout(once, POLL_MS);
        })
        .catch(function () { window.setTimeout(once, POLL_MS * 2); });
    })();
  }

  /** The PSP's message for the last failure, as the engine recorded it. */
  function lastPaymentError(fallback) {
    return fetch(base + '/status', { credentials: 'same-origin', cache: 'no-store' })
      .then(readJson)
      .then(function (r) {
        var e = r.ok && r.json.last_payment_error;
        return (e && e.message) || fallback;
      }, function () { return fallback; });
  }

  function declined(text) {
    setState('declined');
    tell('error', text + ' Please try another card.');
  }

  // ---- the sandbox PSP's card iframe -------------------------------------------------

  function mountSandbox() {
    var holder = el('card-holder');
    holder.textContent = '';
    var url = new URL(session.psp.iframe_url);
    url.searchParams.set('client_secret', session.client_secret);
    url.searchParams.set('publishable_key', session.psp.publishable_key);
    // The card form posts its messages to this origin only.
    url.searchParams.set('parent_origin', window.location.origin);
    var frame = document.createElement('iframe');
    frame.id = 'psp-frame';
    frame.title = 'Secure card form';
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
    frame.src = url.toString();
    holder.appendChild(frame);
    el('payment').hidden = false;
  }

  window.addEventListener('message', function (ev) {
    if (!session || session.psp.kind !== 'sandbox' || ev.origin !== session.psp.origin) return;
    var frame = el('psp-frame');
    if (!frame || ev.source !== frame.contentWindow) return;
    var data = ev.data || {};
    if (data.source !== 'psp-sandbox') return;
    if (data.type === 'requires_action') {
      setState('challenge');
      tell('pending', 'Complete the 3-D Secure check in the card form.');
    } else if (data.type === 'payment_failed') {
      // A fresh form for the next card; the PSP's intent is back to
      // requires_payment_method and accepts another confirmation.
      mountSandbox();
      if (data.error && data.error.message) return declined(data.error.message);
      lastPaymentError('The card could not be authenticated.').then(declined);
    } else if (data.type === 'payment_confirmed') {
      setState('confirming');
      tell('pending', 'Confirming your payment...');
      pollStatus();
    }
  });

  // ---- Stripe.js Elements (engine configured for Stripe) -----------------------------

  function mountStripe() {
    var script = document.createElement('script');
    script.src = session.psp.script_url;
    script.onerror = function () { setState('error'); tell('error', 'The payment form could not load.'); };
    script.onload = function () {
      var stripe = window.Stripe(session.psp.publishable_key);
      var card = stripe.elements().create('card');
      card.mount('#stripe-card');
      var form = el('stripe-form');
      var button = el('stripe-pay');
      form.hidden = false;
      el('payment').hidden = false;
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        button.disabled = true;
        tell('pending', 'Processing...');
        // Stripe.js shows the 3-D Secure challenge itself when the bank asks.
        stripe.confirmCardPayment(session.client_secret, { payment_method: { card: card } })
          .then(function (result) {
            button.disabled = false;
            if (result.error) return declined(result.error.message);
            setState('confirming');
            tell('pending', 'Confirming your payment...');
            pollStatus();
          });
      });
    };
    document.head.appendChild(script);
  }

  // ---- Adyen Web (Drop-in/Components, sessions flow) ---------------------------------

  function mountAdyen() {
    var adyenSession;
    try {
      // The engine hands Adyen's session over as {"id", "sessionData"}.
      adyenSession = JSON.parse(session.client_secret);
    } catch (e) {
      setState('error');
      return tell('error', 'The payment form could not load.');
    }
    var script = document.createElement('script');
    script.src = session.psp.script_url;
    script.onerror = function () { setState('error'); tell('error', 'The payment form could not load.'); };
    script.onload = function () {
      window.AdyenCheckout({
        environment: session.psp.environment || 'test',
        clientKey: session.psp.publishable_key,
        session: { id: adyenSession.id, sessionData: adyenSession.sessionData },
        // Adyen Web runs the whole payment, 3-D Secure included; its result
        // is the shopper's view only: the engine learns the outcome from
        // Adyen's notification, and the page waits for the engine.
        onPaymentCompleted: function (result) {
          var code = result && result.resultCode;
          if (code === 'Authorised' || code === 'Received' || code === 'Pending') {
            setState('confirming');
            tell('pending', 'Confirming your payment...');
            return pollStatus();
          }
          // Refused or failed: the component stays for another card.
          declined(code === 'Refused' ? 'The card was declined.' : 'The payment did not go through.');
        },
        onError: function () {
          declined('The payment did not go through.');
        }
      }).then(function (checkout) {
        el('adyen-card').hidden = false;
        checkout.create('card').mount('#adyen-card');
        el('payment').hidden = false;
      }, function () {
        setState('error');
        tell('error', 'The payment form could not load.');
      });
    };
    document.head.appendChild(script);
  }

  // ---- start: create or resume this visit's intent -------------------------------------

  function start(attempt) {
    setState('loading');
    fetch(base + '/session', { method: 'POST', credentials: 'same-origin', cache: 'no-store' })
      .then(readJson)
      .then(function (r) {
        // 409: this visit's intent is being made by another tab; 503: retry.
        if ((r.status === 409 || r.status === 503) && attempt < SESSION_RETRIES_MAX) {
          return window.setTimeout(function () { start(attempt + 1); }, 300 * (attempt + 1));
        }
        if (!r.ok) {
          setState('error');
          return tell('error', errorText(r.json, 'This payment page is not available.'));
        }
        session = r.json;
        el('amount').textContent = session.payment_link.amount_display;
        el('description').textContent = session.payment_link.description || '';
        document.title = 'Pay ' + session.payment_link.amount_display;
        if (session.paid) return showPaid();
        if (session.status === 'processing') {
          // Confirmed before a reload; the PSP has not decided yet.
          setState('confirming');
          tell('pending', 'Confirming your payment...');
          return pollStatus();
        }
        if (!session.client_secret) {
          setState('closed');
          return tell('error', 'This payment can no longer be completed.');
        }
        setState('ready');
        if (session.psp.kind === 'stripe') mountStripe();
        else if (session.psp.kind === 'adyen') mountAdyen();
        else mountSandbox();
      })
      .catch(function () {
        setState('error');
        tell('error', 'The payment page could not reach the server; reload to try again.');
      });
  }

  start(0);
})();
