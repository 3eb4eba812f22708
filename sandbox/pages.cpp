#include "sandbox/pages.hpp"

namespace pay::sandbox {

std::string_view card_iframe_html() {
  static constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>psp-sandbox card</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 0; padding: 12px; color: #1a1f36; }
  label { display: block; margin: 8px 0 4px; font-size: 13px; color: #4f566b; }
  input { width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #c9ced8;
          border-radius: 4px; font: inherit; }
  .row { display: flex; gap: 8px; } .row > div { flex: 1; }
  button { margin-top: 12px; width: 100%; padding: 10px; border: 0; border-radius: 4px;
           background: #635bff; color: #fff; font: inherit; cursor: pointer; }
  button:disabled { opacity: .6; cursor: default; }
  #message { margin-top: 10px; min-height: 1.2em; }
  .error { color: #df1b41; } .ok { color: #0e6245; }
  .hint { font-size: 12px; color: #697386; margin-top: 8px; }
</style>
</head>
<body>
<form id="card-form" autocomplete="off">
  <label for="number">Card number</label>
  <input id="number" name="number" inputmode="numeric" placeholder="4242 4242 4242 4242" required>
  <div class="row">
    <div><label for="exp">Expiry (MM/YY)</label>
      <input id="exp" name="exp" placeholder="12/34" required></div>
    <div><label for="cvc">CVC</label>
      <input id="cvc" name="cvc" inputmode="numeric" placeholder="123" required></div>
  </div>
  <button id="pay" type="submit">Pay</button>
  <div id="message" role="status"></div>
  <div class="hint">Test cards: 4242424242424242 succeeds, 4000000000000002 is declined,
    4000000000009995 has insufficient funds, 4000002500003155 asks for 3-D Secure.</div>
</form>
<script src="/js/iframe.js"></script>
</body>
</html>
)html";
  return page;
}

std::string_view card_iframe_js() {
  static constexpr std::string_view script = R"js('use strict';
(function () {
  var query = new URLSearchParams(window.location.search);
  var clientSecret = query.get('client_secret') || '';
  var publishableKey = query.get('publishable_key') || '';
  var returnUrl = query.get('return_url') || '';
  var parentOrigin = originOrEmpty(query.get('parent_origin'));
  var intentId = clientSecret.split('_secret_')[0];
  var form = document.getElementById('card-form');
  var message = document.getElementById('message');
  var button = document.getElementById('pay');

  // An http(s) origin exactly (scheme, host, port; nothing after), or ''.
  function originOrEmpty(text) {
    if (!text || !/^https?:\/\/[^\/?#]+$/.test(text)) return '';
    try { return new URL(text).origin === text ? text : ''; } catch (e) { return ''; }
  }

  function tell(kind, text) {
    message.className = kind;
    message.textContent = text;
  }

  // Only to the embedding page's origin, which it names in parent_origin:
  // never '*', so no other page that frames this form hears about payments.
  function notifyParent(payload) {
    if (parentOrigin && window.parent && window.parent !== window) {
      window.parent.postMessage(Object.assign({ source: 'psp-sandbox' }, payload), parentOrigin);
    }
  }

  if (!clientSecret || !publishableKey) {
    tell('error', 'This page needs client_secret and publishable_key in its URL.');
    button.disabled = true;
    return;
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var exp = document.getElementById('exp').value.split('/');
    var body = new URLSearchParams();
    body.append('client_secret', clientSecret);
    body.append('payment_method_data[type]', 'card');
    body.append('payment_method_data[card][number]',
                document.getElementById('number').value.replace(/\s+/g, ''));
    body.append('payment_method_data[card][exp_month]', (exp[0] || '').trim());
    body.append('payment_method_data[card][exp_year]', (exp[1] || '').trim());
    body.append('payment_method_data[card][cvc]', document.getElementById('cvc').value.trim());
    if (returnUrl) body.append('return_url', returnUrl);
    button.disabled = true;
    tell('', 'Processing...');
    fetch('/v1/payment_intents/' + encodeURIComponent(intentId) + '/confirm', {
      method: 'POST',
      headers: {
        'Authorization': 'Bearer ' + publishableKey,
        'Content-Type': 'application/x-www-form-urlencoded'
      },
      body: body.toString()
    }).then(function (res) {
      return res.json().then(function (json) { return { status: res.status, json: json }; });
    }).then(function (r) {
      if (r.json.error) {
        button.disabled = false;
        tell('error', r.json.error.message);
        notifyParent({ type: 'payment_failed', payment_intent: intentId,
                       error: { type: r.json.error.type, code: r.json.error.code,
                                decline_code: r.json.error.decline_code,
                                message: r.json.error.message } });
        return;
      }
      var pi = r.json;
      if (pi.status === 'requires_action' && pi.next_action &&
          pi.next_action.type === 'redirect_to_url') {
        // Only to our own challenge page, which learns the parent's origin.
        var next = new URL(pi.next_action.redirect_to_url.url, window.location.href);
        if (next.origin !== window.location.origin) {
          button.disabled = false;
          tell('error', 'Unexpected authentication page.');
          return;
        }
        if (parentOrigin) next.searchParams.set('parent_origin', parentOrigin);
        notifyParent({ type: 'requires_action', payment_intent: pi.id, status: pi.status });
        window.location.assign(next.toString());
        return;
      }
      tell('ok', pi.status === 'succeeded' ? 'Payment succeeded.' : 'Payment authorised.');
      notifyParent({ type: 'payment_confirmed', payment_intent: pi.id, status: pi.status });
    }).catch(function (err) {
      button.disabled = false;
      tell('error', 'Network error: ' + err);
    });
  });
})();
)js";
  return script;
}

std::string_view three_ds_html() {
  static constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>psp-sandbox 3-D Secure</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 0; padding: 16px; color: #1a1f36; }
  h1 { font-size: 18px; } p { color: #4f566b; }
  button { padding: 10px 16px; margin-right: 8px; border: 0; border-radius: 4px; font: inherit;
           cursor: pointer; color: #fff; }
  #approve { background: #0e6245; } #fail { background: #df1b41; }
  #message { margin-top: 12px; }
</style>
</head>
<body>
<h1>3-D Secure test authentication</h1>
<p>This is the psp-sandbox's stand-in for the card issuer's challenge.
   Complete or fail the authentication of <code id="intent"></code>.</p>
<button id="approve" type="button">Complete authentication</button>
<button id="fail" type="button">Fail authentication</button>
<div id="message" role="status"></div>
<script>
'use strict';
(function () {
  var query = new URLSearchParams(window.location.search);
  var clientSecret = query.get('client_secret') || '';
  var parentOrigin = originOrEmpty(query.get('parent_origin'));
  var parts = window.location.pathname.split('/');
  var intentId = decodeURIComponent(parts[parts.length - 1]);
  document.getElementById('intent').textContent = intentId;
  var message = document.getElementById('message');

  function originOrEmpty(text) {
    if (!text || !/^https?:\/\/[^\/?#]+$/.test(text)) return '';
    try { return new URL(text).origin === text ? text : ''; } catch (e) { return ''; }
  }

  // The return URL is the one registered on the intent (checked by the
  // sandbox at confirmation: an absolute http(s) URL), never one from this
  // page's own address, which anybody can craft.
  function registeredReturnUrl(pi) {
    if (typeof pi.return_url !== 'string') return null;
    try {
      var url = new URL(pi.return_url);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
    } catch (e) { return null; }
  }

  function finish(outcome) {
    var body = new URLSearchParams();
    body.append('client_secret', clientSecret);
    document.getElementById('approve').disabled = true;
    document.getElementById('fail').disabled = true;
    fetch('/_sandbox/3ds/' + encodeURIComponent(intentId) + '/' + outcome, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: body.toString()
    }).then(function (res) { return res.json(); }).then(function (pi) {
      if (pi.error) { message.textContent = pi.error.message; return; }
      var ok = pi.status === 'succeeded' || pi.status === 'requires_capture';
      message.textContent = ok ? 'Authentication complete.' : 'Authentication failed.';
      if (parentOrigin && window.parent && window.parent !== window) {
        window.parent.postMessage({ source: 'psp-sandbox', type: ok ? 'payment_confirmed'
                                    : 'payment_failed', payment_intent: pi.id,
                                    status: pi.status }, parentOrigin);
      }
      var target = registeredReturnUrl(pi);
      if (target) {
        // As Stripe does, to the merchant's registered return_url only.
        target.searchParams.set('payment_intent', pi.id);
        target.searchParams.set('payment_intent_client_secret', clientSecret);
        target.searchParams.set('redirect_status', ok ? 'succeeded' : 'failed');
        window.location.assign(target.toString());
      }
    }).catch(function (err) { message.textContent = 'Network error: ' + err; });
  }
  document.getElementById('approve').addEventListener('click', function () { finish('approve'); });
  document.getElementById('fail').addEventListener('click', function () { finish('fail'); });
})();
</script>
</body>
</html>
)html";
  return page;
}

}  // namespace pay::sandbox
