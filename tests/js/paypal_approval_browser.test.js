// The PayPal mode's buyer approval page in a real browser (Debian's Chromium
// through playwright-core): orders created through the API are opened at
// their payer-action link; the buyer approves (with each funding choice) or
// cancels, and Chromium lands on the shop's return_url or cancel_url, on
// another origin, with PayPal's query parameters. The outcome is checked
// through the API: the order's status and the capture the funding decided.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');

const { chromium } = require('playwright-core');
const { startSandbox } = require('./sandbox_helpers');

const CLIENT_ID = 'AbBrowserClientId00000000000000000000001';
const CLIENT_SECRET = 'EbBrowserClientSecret0000000000000000001';

let sandbox;
let base;
let shop;  // { server, base }
let browser;
let token;
const landings = [];  // URLs the shop's server was sent to

before(async () => {
  sandbox = await startSandbox(['--paypal-client-id', CLIENT_ID, '--paypal-client-secret', CLIENT_SECRET,
                                '--paypal-pending-ms', '100', '--seed', '5']);
  base = `http://127.0.0.1:${sandbox.port}`;
  const server = http.createServer((req, res) => {
    landings.push(req.url);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Shop</title><h1 id="shop">Back at the shop</h1>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  shop = { server, base: `http://localhost:${server.address().port}` };
  const res = await fetch(`${base}/paypal/v1/oauth2/token`, {
    method: 'POST',
    headers: { Authorization: 'Basic ' + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'),
               'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  token = (await res.json()).access_token;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (shop) await new Promise((resolve) => shop.server.close(resolve));
  if (sandbox) assert.equal(await sandbox.stop(), 0);
});

async function api(method, p, body) {
  const res = await fetch(`${base}/paypal${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json',
               ...(method === 'POST' ? { 'PayPal-Request-Id': `${p}-${Math.random()}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function createOrder(value) {
  const r = await api('POST', '/v2/checkout/orders', {
    intent: 'CAPTURE',
    purchase_units: [{ custom_id: 'pi_browser', amount: { currency_code: 'USD', value } }],
    payment_source: { paypal: { experience_context: {
      return_url: `${shop.base}/return`, cancel_url: `${shop.base}/cancel`, user_action: 'PAY_NOW' } } },
  });
  assert.equal(r.status, 201);
  return { id: r.body.id, link: r.body.links.find((l) => l.rel === 'payer-action').href };
}

async function buyer(link, funding, button) {
  const page = await browser.newPage();
  try {
    await page.goto(link);
    assert.match(await page.textContent('#buyer'), /sb-buyer@personal\.example\.com/);
    if (funding) await page.selectOption('#funding', funding);
    await Promise.all([page.waitForURL(`${shop.base}/**`), page.click(button)]);
    assert.equal(await page.textContent('#shop'), 'Back at the shop');
    return new URL(page.url());
  } finally {
    await page.close();
  }
}

test('approve with the PayPal balance: back at return_url with token and PayerID, then captured', async () => {
  const order = await createOrder('19.99');
  const back = await buyer(order.link, 'balance', '#approve');
  assert.equal(back.pathname, '/return');
  assert.equal(back.searchParams.get('token'), order.id);
  assert.equal(back.searchParams.get('PayerID'), 'SBXBUYER7Q2LM');
  assert.equal((await api('GET', `/v2/checkout/orders/${order.id}`)).body.status, 'APPROVED');
  const captured = await api('POST', `/v2/checkout/orders/${order.id}/capture`, {});
  assert.equal(captured.body.purchase_units[0].payments.captures[0].status, 'COMPLETED');
});

test('a buyer who cancels lands on cancel_url and the order stays unapproved', async () => {
  const order = await createOrder('5.00');
  const back = await buyer(order.link, null, '#cancel');
  assert.equal(back.pathname, '/cancel');
  assert.equal(back.searchParams.get('token'), order.id);
  assert.equal((await api('GET', `/v2/checkout/orders/${order.id}`)).body.status, 'PAYER_ACTION_REQUIRED');
  const refused = await api('POST', `/v2/checkout/orders/${order.id}/capture`, {});
  assert.equal(refused.status, 422);
  assert.equal(refused.body.details[0].issue, 'ORDER_NOT_APPROVED');
});

test('the funding select decides the capture: declined, or pending then completed', async () => {
  const denied = await createOrder('7.00');
  await buyer(denied.link, 'deny_capture', '#approve');
  const d = await api('POST', `/v2/checkout/orders/${denied.id}/capture`, {});
  assert.equal(d.body.purchase_units[0].payments.captures[0].status, 'DECLINED');
  const pending = await createOrder('8.00');
  await buyer(pending.link, 'pending_capture', '#approve');
  const p = await api('POST', `/v2/checkout/orders/${pending.id}/capture`, {});
  const captureId = p.body.purchase_units[0].payments.captures[0].id;
  assert.equal(p.body.purchase_units[0].payments.captures[0].status, 'PENDING');
  const until = Date.now() + 10000;
  let status;
  do {
    await new Promise((r) => setTimeout(r, 50));
    status = (await api('GET', `/v2/payments/captures/${captureId}`)).body.status;
  } while (status !== 'COMPLETED' && Date.now() < until);
  assert.equal(status, 'COMPLETED');
  // A completed order's page offers no buttons.
  const page = await browser.newPage();
  await page.goto(denied.link);
  assert.equal(await page.locator('#approve').count(), 0);
  await page.close();
});
