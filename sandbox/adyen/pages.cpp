#include "sandbox/adyen/pages.hpp"

namespace pay::sandbox::adyen {

std::string_view sdk_js() {
  static constexpr std::string_view script =
      R"js(/* psp-sandbox: a stand-in for Adyen Web v5 (sessions flow, card component). */
(function () {
  'use strict';
  var current = document.currentScript;
  var base = current && current.src ? new URL(current.src).origin : window.location.origin;

  function AdyenSandboxError(name, message) {
    var e = new Error(message);
    e.name = name;
    return e;
  }

  function CardComponent(checkout, options) {
    this.checkout = checkout;
    this.props = options || {};
    this.iframe = null;
    this.listener = null;
  }

  CardComponent.prototype.mount = function (target) {
    var element = typeof target === 'string' ? document.querySelector(target) : target;
    if (!element) throw AdyenSandboxError('IMPLEMENTATION_ERROR', 'Component could not mount. Root node was not found.');
    var config = this.checkout.options;
    var self = this;
    var hash = new URLSearchParams();
    hash.set('sessionId', config.session.id);
    hash.set('sessionData', config.session.sessionData);
    hash.set('clientKey', config.clientKey);
    hash.set('parentOrigin', window.location.origin);
    if (config.locale) hash.set('locale', config.locale);
    var iframe = document.createElement('iframe');
    iframe.title = 'Adyen card component (psp-sandbox)';
    iframe.setAttribute('data-adyen-sandbox', 'card');
    iframe.style.border = '0';
    iframe.style.width = '100%';
    iframe.style.height = '330px';
    // The session data travels in the fragment: never sent in a request line.
    iframe.src = base + '/adyen/sdk/card.html#' + hash.toString();
    this.listener = function (ev) {
      // Only our own iframe, from the sandbox's origin, is listened to.
      if (ev.origin !== base || ev.source !== iframe.contentWindow) return;
      var data = ev.data;
      if (!data || data.source !== 'adyen-sandbox-card') return;
      if (data.type === 'resize' && data.height > 0) {
        iframe.style.height = Math.min(data.height, 2000) + 'px';
      } else if (data.type === 'completed') {
        var result = { resultCode: data.resultCode, sessionResult: data.sessionResult,
                       sessionData: data.sessionData };
        if (typeof config.onPaymentCompleted === 'function') config.onPaymentCompleted(result, self);
      } else if (data.type === 'error') {
        if (typeof config.onError === 'function')
          config.onError(AdyenSandboxError(data.name || 'ERROR', data.message || 'error'), self);
      }
    };
    window.addEventListener('message', this.listener);
    while (element.firstChild) element.removeChild(element.firstChild);
    element.appendChild(iframe);
    this.iframe = iframe;
    return this;
  };

  CardComponent.prototype.unmount = function () {
    if (this.listener) window.removeEventListener('message', this.listener);
    if (this.iframe && this.iframe.parentNode) this.iframe.parentNode.removeChild(this.iframe);
    this.iframe = null;
    this.listener = null;
    return this;
  };

  function AdyenCheckout(config) {
    return new Promise(function (resolve, reject) {
      var problem = null;
      if (!config || typeof config !== 'object') problem = 'AdyenCheckout needs a configuration object.';
      else if (!config.clientKey || !/^(test|live)_/.test(config.clientKey)) problem = 'clientKey is missing or invalid.';
      else if (!config.session || !config.session.id || !config.session.sessionData) problem = 'session.id and session.sessionData are required.';
      if (problem) {
        var err = AdyenSandboxError('IMPLEMENTATION_ERROR', problem);
        if (config && typeof config.onError === 'function') config.onError(err);
        reject(err);
        return;
      }
      var checkout = {
        options: config,
        session: { id: config.session.id },
        create: function (type, options) {
          if (type !== 'card' && type !== 'scheme')
            throw AdyenSandboxError('IMPLEMENTATION_ERROR', 'psp-sandbox supports the card component only, not ' + type);
          return new CardComponent(checkout, options);
        }
      };
      resolve(checkout);
    });
  }

  window.AdyenCheckout = AdyenCheckout;
})();
)js";
  return script;
}

std::string_view card_html() {
  static constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Card (psp-sandbox, Adyen mode)</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 0; padding: 12px; color: #00112c; }
  label { display: block; margin: 8px 0 4px; font-size: 13px; color: #5c687c; }
  input { width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #b9c4c9;
          border-radius: 6px; font: inherit; }
  .row { display: flex; gap: 8px; } .row > div { flex: 1; }
  button { margin-top: 12px; width: 100%; padding: 10px; border: 0; border-radius: 6px;
           background: #0abf53; color: #fff; font: inherit; cursor: pointer; }
  button:disabled { opacity: .6; cursor: default; }
  #message { margin-top: 10px; min-height: 1.2em; }
  .error { color: #d10244; } .ok { color: #0a7d3b; }
  .hint { font-size: 12px; color: #5c687c; margin-top: 8px; }
  [hidden] { display: none; }
</style>
</head>
<body>
<form id="card-form" autocomplete="off">
  <label for="number">Card number</label>
  <input id="number" name="number" inputmode="numeric" placeholder="4111 1111 4555 1142" required>
  <div class="row">
    <div><label for="expiry">Expiry date (MM/YY)</label>
      <input id="expiry" name="expiry" placeholder="03/30" required></div>
    <div><label for="cvc">Security code</label>
      <input id="cvc" name="cvc" inputmode="numeric" placeholder="737" required></div>
  </div>
  <label for="holder">Name on card</label>
  <input id="holder" name="holder" placeholder="J. Smith">
  <button id="pay" type="submit">Pay</button>
  <div class="hint">Test cards: 4111 1111 4555 1142 (no 3-D Secure), 5454 5454 5454 5454
    (3-D Secure 2, password "password"); expiry 03/30, CVC 737. Name DECLINED refuses.</div>
</form>
<form id="challenge-form" autocomplete="off" hidden>
  <p>3-D Secure 2 test challenge of the card issuer. Enter the password.</p>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button id="submit-challenge" type="submit">Submit</button>
</form>
<div id="message" role="status"></div>
<script src="/adyen/sdk/card.js"></script>
</body>
</html>
)html";
  return page;
}

std::string_view card_js() {
  static constexpr std::string_view script = R"js('use strict';
(function () {
  var params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  var sessionId = params.get('sessionId') || '';
  var sessionData = params.get('sessionData') || '';
  var clientKey = params.get('clientKey') || '';
  var parentOrigin = originOrEmpty(params.get('parentOrigin'));
  var cardForm = document.getElementById('card-form');
  var challengeForm = document.getElementById('challenge-form');
  var message = document.getElementById('message');
  var payButton = document.getElementById('pay');
  var challengeToken = '';

  function originOrEmpty(text) {
    if (!text || !/^https?:\/\/[^\/?#]+$/.test(text)) return '';
    try { return new URL(text).origin === text ? text : ''; } catch (e) { return ''; }
  }

  function tell(kind, text) { message.className = kind; message.textContent = text; }

  // Only to the embedding page's origin, never '*'.
  function notifyParent(payload) {
    if (parentOrigin && window.parent && window.parent !== window) {
      payload.source = 'adyen-sandbox-card';
      window.parent.postMessage(payload, parentOrigin);
    }
  }

  function resize() {
    notifyParent({ type: 'resize', height: document.documentElement.scrollHeight + 4 });
  }

  function endpoint(operation) {
    return '/adyen/checkoutshopper/v1/sessions/' + encodeURIComponent(sessionId) + '/' +
           operation + '?clientKey=' + encodeURIComponent(clientKey);
  }

  function post(url, body) {
    return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                        body: JSON.stringify(body) })
      .then(function (res) { return res.json().then(function (json) { return { status: res.status, json: json }; }); });
  }

  function finish(r) {
    if (r.status !== 200) {
      payButton.disabled = false;
      tell('error', (r.json && r.json.message) || 'The payment could not be made.');
      notifyParent({ type: 'error', name: 'NETWORK_ERROR', message: (r.json && r.json.message) || 'error' });
      return;
    }
    var res = r.json;
    if (res.sessionData) sessionData = res.sessionData;
    if (res.action && res.action.type === 'threeDS2' && res.action.subtype === 'challenge') {
      challengeToken = res.action.token;
      cardForm.hidden = true;
      challengeForm.hidden = false;
      tell('', '');
      resize();
      return;
    }
    cardForm.hidden = false;
    challengeForm.hidden = true;
    var ok = res.resultCode === 'Authorised' || res.resultCode === 'Received' || res.resultCode === 'Pending';
    if (ok) {
      payButton.disabled = true;
      tell('ok', res.resultCode === 'Authorised' ? 'Payment successful.' : 'Payment received.');
    } else {
      // A refusal lets the shopper try again in the same session.
      payButton.disabled = false;
      tell('error', res.resultCode === 'Refused' ? 'The payment was refused. Try another card.'
                                                 : 'The payment failed (' + res.resultCode + ').');
    }
    notifyParent({ type: 'completed', resultCode: res.resultCode, sessionResult: res.sessionResult,
                   sessionData: sessionData });
    resize();
  }

  function failed(err) {
    payButton.disabled = false;
    tell('error', 'Network error: ' + err);
    notifyParent({ type: 'error', name: 'NETWORK_ERROR', message: String(err) });
  }

  if (!sessionId || !sessionData || !clientKey) {
    tell('error', 'This page needs sessionId, sessionData and clientKey.');
    payButton.disabled = true;
    return;
  }

  cardForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var expiry = document.getElementById('expiry').value.split('/');
    var month = (expiry[0] || '').trim();
    var year = (expiry[1] || '').trim();
    if (month.length === 1) month = '0' + month;
    if (year.length === 2) year = '20' + year;
    var body = {
      sessionData: sessionData,
      paymentMethod: {
        type: 'scheme',
        // Adyen's test platform accepts unencrypted values with a test_ prefix.
        encryptedCardNumber: 'test_' + document.getElementById('number').value.replace(/\s+/g, ''),
        encryptedExpiryMonth: 'test_' + month,
        encryptedExpiryYear: 'test_' + year,
        encryptedSecurityCode: 'test_' + document.getElementById('cvc').value.trim(),
        holderName: document.getElementById('holder').value.trim()
      }
    };
    payButton.disabled = true;
    tell('', 'Processing...');
    post(endpoint('payments'), body).then(finish).catch(failed);
  });

  challengeForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var button = document.getElementById('submit-challenge');
    button.disabled = true;
    tell('', 'Authenticating...');
    post('/adyen/threeds2/challenge', { token: challengeToken,
                                        password: document.getElementById('password').value })
      .then(function (r) {
        button.disabled = false;
        if (r.status !== 200) return finish(r);
        return post(endpoint('paymentDetails'), { sessionData: sessionData,
                                                  details: { threeDSResult: r.json.threeDSResult } })
          .then(finish);
      }).catch(failed);
  });
  resize();
})();
)js";
  return script;
}

}  // namespace pay::sandbox::adyen
