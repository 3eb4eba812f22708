// The hosted card iframe and 3-D Secure page, driven as a browser would run
// them: their scripts are fetched from the sandbox and run in a VM context
// with a minimal DOM, and their fetch() calls go to the real sandbox.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');

const { startSandbox, waitFor } = require('./sandbox_helpers');

const SECRET_KEY = 'sk_test_iframe00000000000000000001';
const PUBLISHABLE_KEY = 'pk_test_iframe00000000000000000001';

let sandbox;
let base;

before(async () => {
  sandbox = await startSandbox(['--secret-key', SECRET_KEY, '--publishable-key', PUBLISHABLE_KEY,
                                '--seed', '5']);
  base = `http://127.0.0.1:${sandbox.port}`;
});

after(async () => {
  if (sandbox) assert.equal(await sandbox.stop(), 0);
});

async function api(method, path, params) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${SECRET_KEY}`,
               'Content-Type': 'application/x-www-form-urlencoded' },
    body: params ? new URLSearchParams(params).toString() : undefined,
  });
  return res.json();
}

/** A page's script run against a fake DOM; returns what it did. */
function runPage(script, { pathname, search }) {
  const elements = {};
  const element = (id) => {
    if (!elements[id]) {
      elements[id] = { id, value: '', textContent: '', className: '', disabled: false,
                       listeners: {},
                       addEventListener(type, fn) { this.listeners[type] = fn; } };
    }
    return elements[id];
  };
  const page = { messages: [], targets: [], assigned: null, element };
  // Messages are copied out of the VM's realm so deepEqual compares values;
  // the target origin each was posted to is kept beside it.
  const parent = {
    postMessage: (msg, targetOrigin) => {
      page.messages.push(JSON.parse(JSON.stringify(msg)));
      page.targets.push(targetOrigin);
    },
  };
  const href = new URL(pathname + search, base).toString();
  const window = {
    location: { pathname, search, href, origin: new URL(base).origin,
                assign: (url) => { page.assigned = url; } },
    parent,
  };
  const context = {
    window,
    document: { getElementById: element },
    URLSearchParams,
    URL,
    fetch: (path, opts) => fetch(new URL(path, base), opts),
    console,
    Object,
    encodeURIComponent,
    decodeURIComponent,
  };
  vm.runInNewContext(script, context);
  return page;
}

/** The origin of the page embedding the iframe (the engine's checkout page). */
const PARENT_ORIGIN = 'https://shop.example';

async function cardIframe(clientSecret, parentOrigin = PARENT_ORIGIN) {
  const html = await (await fetch(`${base}/js/iframe.html`)).text();
  assert.match(html, /<script src="\/js\/iframe.js"><\/script>/);
  const script = await (await fetch(`${base}/js/iframe.js`)).text();
  const origin = parentOrigin ? `&parent_origin=${encodeURIComponent(parentOrigin)}` : '';
  return runPage(script, {
    pathname: '/js/iframe.html',
    search: `?client_secret=${encodeURIComponent(clientSecret)}&publishable_key=${PUBLISHABLE_KEY}` +
            origin,
  });
}

async function challengePage(url) {
  const html = await (await fetch(url)).text();
  const script = html.match(/<script>([\s\S]*)<\/script>/)[1];
  return runPage(script, { pathname: url.pathname, search: url.search });
}

async function pay(page, number) {
  page.element('number').value = number;
  page.element('exp').value = '12/34';
  page.element('cvc').value = '123';
  page.element('card-form').listeners.submit({ preventDefault() {} });
  await waitFor(() => page.messages.length > 0 || page.assigned);
}

test('the card iframe confirms a 4242 card with the publishable key', async () => {
  const pi = await api('POST', '/v1/payment_intents', { amount: '1999', currency: 'usd' });
  const page = await cardIframe(pi.client_secret);
  await pay(page, '4242 4242 4242 4242');
  assert.deepEqual(page.messages.at(-1),
                   { source: 'psp-sandbox', type: 'payment_confirmed', payment_intent: pi.id,
                     status: 'succeeded' });
  assert.equal((await api('GET', `/v1/payment_intents/${pi.id}`)).status, 'succeeded');
});

test('the card iframe reports declines and insufficient funds', async () => {
  for (const [number, decline] of [['4000000000000002', 'generic_decline'],
                                   ['4000000000009995', 'insufficient_funds']]) {
    const pi = await api('POST', '/v1/payment_intents', { amount: '500', currency: 'usd' });
    const page = await cardIframe(pi.client_secret);
    await pay(page, number);
    const msg = page.messages.at(-1);
    assert.equal(msg.type, 'payment_failed');
    assert.equal(msg.error.decline_code, decline);
    assert.equal(page.element('message').className, 'error');
    assert.equal(page.element('pay').disabled, false);
  }
});

test('a 3-D Secure card redirects to the challenge page, whose approval completes payment',
     async () => {
  const pi = await api('POST', '/v1/payment_intents', { amount: '2500', currency: 'usd' });
  const page = await cardIframe(pi.client_secret);
  await pay(page, '4000002500003155');
  assert.ok(page.assigned, 'the iframe navigates to the 3-D Secure page');
  const url = new URL(page.assigned);
  assert.equal(url.pathname, `/3ds/${pi.id}`);
  const html = await (await fetch(url)).text();
  const script = html.match(/<script>([\s\S]*)<\/script>/)[1];
  const challenge = runPage(script, { pathname: url.pathname, search: url.search });
  challenge.element('approve').listeners.click();
  await waitFor(() => challenge.messages.length > 0);
  assert.equal(challenge.messages[0].type, 'payment_confirmed');
  assert.equal((await api('GET', `/v1/payment_intents/${pi.id}`)).status, 'succeeded');
});

test('failing the 3-D Secure challenge leaves the intent needing a payment method', async () => {
  const pi = await api('POST', '/v1/payment_intents', { amount: '2500', currency: 'usd' });
  const page = await cardIframe(pi.client_secret);
  await pay(page, '4000002500003155');
  const url = new URL(page.assigned);
  const html = await (await fetch(url)).text();
  const script = html.match(/<script>([\s\S]*)<\/script>/)[1];
  const challenge = runPage(script, { pathname: url.pathname, search: url.search });
  challenge.element('fail').listeners.click();
  await waitFor(() => challenge.messages.length > 0);
  assert.equal(challenge.messages[0].type, 'payment_failed');
  const after = await api('GET', `/v1/payment_intents/${pi.id}`);
  assert.equal(after.status, 'requires_payment_method');
  assert.equal(after.last_payment_error.code, 'payment_intent_authentication_failure');
});

test('the card iframe posts only to the parent origin it was given, never to *', async () => {
  const pi = await api('POST', '/v1/payment_intents', { amount: '1999', currency: 'usd' });
  const page = await cardIframe(pi.client_secret);
  await pay(page, '4242 4242 4242 4242');
  assert.deepEqual(page.targets, [PARENT_ORIGIN]);

  for (const bad of [null, '*', 'javascript:alert(1)', 'https://shop.example/path']) {
    const other = await api('POST', '/v1/payment_intents', { amount: '1999', currency: 'usd' });
    const silent = await cardIframe(other.client_secret, bad);
    silent.element('number').value = '4242424242424242';
    silent.element('exp').value = '12/34';
    silent.element('cvc').value = '123';
    silent.element('card-form').listeners.submit({ preventDefault() {} });
    await waitFor(() => silent.element('message').className === 'ok');
    assert.deepEqual(silent.messages, [], `no message with parent_origin=${bad}`);
  }
});

test('the 3-D Secure page posts to the parent origin and ignores a return_url in its address',
     async () => {
  const pi = await api('POST', '/v1/payment_intents', { amount: '2500', currency: 'usd' });
  const page = await cardIframe(pi.client_secret);
  await pay(page, '4000002500003155');
  const url = new URL(page.assigned);
  assert.equal(url.origin, base);
  assert.equal(url.searchParams.get('parent_origin'), PARENT_ORIGIN);
  url.searchParams.set('return_url', 'https://evil.example/steal');
  const challenge = await challengePage(url);
  challenge.element('approve').listeners.click();
  await waitFor(() => challenge.messages.length > 0);
  assert.deepEqual(challenge.targets, [PARENT_ORIGIN]);
  assert.equal(challenge.assigned, null, 'no redirect to a URL the intent did not register');
});

test('the 3-D Secure page returns to the registered return_url only', async () => {
  const pi = await api('POST', '/v1/payment_intents', {
    amount: '2500', currency: 'usd', return_url: 'https://shop.example/done?order=7' });
  const page = await cardIframe(pi.client_secret);
  await pay(page, '4000002500003155');
  const challenge = await challengePage(new URL(page.assigned));
  challenge.element('approve').listeners.click();
  await waitFor(() => challenge.assigned);
  const back = new URL(challenge.assigned);
  assert.equal(back.origin + back.pathname, 'https://shop.example/done');
  assert.equal(back.searchParams.get('order'), '7');
  assert.equal(back.searchParams.get('payment_intent'), pi.id);
  assert.equal(back.searchParams.get('redirect_status'), 'succeeded');
});

test('a return_url that is not an absolute http(s) URL is refused', async () => {
  for (const bad of ['javascript:alert(1)', 'data:text/html,x', '/relative', 'https:///nohost',
                     'ftp://files.example/x']) {
    const created = await api('POST', '/v1/payment_intents', {
      amount: '2500', currency: 'usd', return_url: bad });
    assert.equal(created.error && created.error.param, 'return_url', bad);
    const pi = await api('POST', '/v1/payment_intents', { amount: '2500', currency: 'usd' });
    const confirmed = await api('POST', `/v1/payment_intents/${pi.id}/confirm`, {
      payment_method: 'pm_card_visa', return_url: bad });
    assert.equal(confirmed.error && confirmed.error.param, 'return_url', bad);
  }
});
