// The hosted checkout page. It holds no secret and trusts no browser-side
// outcome: it asks the engine for its visit's intent (POST session), mounts
// the PSP's card form with that intent's client secret, and shows success
// only once the engine itself reports the intent authorized or captured
// (GET status). Card data is typed into the PSP's iframe and goes to the PSP
// only. The PSP that holds the intent names its front end (session.psp.kind),
// a script its provider ships (psp/<name>/web/checkout.js) that mounts the
// PSP's own form here.
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

  // ---- the PSP's front end: a plug-in each provider ships ---------------------------

  // Each PSP provider serves its own glue at /checkout/psp/<kind>.js, which
  // registers a mount function here; the page knows no PSP by name. A mount
  // is given `page`: the visit's session, the element to build its form in,
  // and the page's ways to report what the shopper's form says.
  var mounts = {};
  window.payCheckout = {
    register: function (kind, mount) { mounts[kind] = mount; }
  };

  function formFailed() {
    setState('error');
    tell('error', 'The payment form could not load.');
  }

  function loadScript(url, onload) {
    var script = document.createElement('script');
    script.src = url;
    script.onerror = formFailed;
    script.onload = onload;
    document.head.appendChild(script);
  }

  function page() {
    return {
      session: session,
      holder: el('psp-holder'),
      loadScript: loadScript,
      show: function () { el('payment').hidden = false; },
      processing: function () { tell('pending', 'Processing...'); },
      challenge: function (text) { setState('challenge'); tell('pending', text); },
      confirming: function () {
        setState('confirming');
        tell('pending', 'Confirming your payment...');
        pollStatus();
      },
      declined: declined,
      lastPaymentError: lastPaymentError,
      failed: formFailed
    };
  }

  function mountFrontEnd() {
    var kind = session.psp.kind;
    if (!/^[a-z0-9_-]{1,32}$/.test(kind)) return formFailed();
    el('psp-holder').textContent = '';
    loadScript('/checkout/psp/' + kind + '.js', function () {
      if (!mounts[kind]) return formFailed();
      mounts[kind](page());
    });
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
        mountFrontEnd();
      })
      .catch(function () {
        setState('error');
        tell('error', 'The payment page could not reach the server; reload to try again.');
      });
  }

  start(0);
})();
