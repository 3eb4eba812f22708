// The Adyen mode's card component in a real browser (Debian's Chromium
// through playwright-core): a shop page on another origin loads
// /adyen/sdk/adyen.js from the sandbox, mounts the card iframe on a session
// the test created through the API, and pays with a success card, a refused
// card then a success card in the same session, and a 3-D Secure 2 card
// (challenge failed, then passed). Each outcome is checked through
// onPaymentCompleted and GET /sessions/{id}?sessionResult=...
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');

const { chromium } = require('playwright-core');
const { startSandbox, waitFor } = require('./sandbox_helpers');

const API_KEY = 'AQE' + crypto.randomBytes(16).toString('hex');
const CLIENT_KEY = 'test_' + crypto.randomBytes(12).toString('hex').toUpperCase();
const MERCHANT = 'BrowserTestECOM';
const WAIT_MS = 20000;

let sandbox;
let sandboxBase;
let shop;  // { server, base }
let browser;
const shopRequests = [];  // every request the shop's server received: method, URL, headers, body
const browserRequests = [];  // every request Chromium made: URL and body

before(async () => {
  sandbox = await startSandbox(['--adyen-api-key', API_KEY, '--adyen-client-key', CLIENT_KEY,
                                '--adyen-merchant-account', MERCHANT, '--seed', '3']);
  sandboxBase = `http://127.0.0.1:${sandbox.port}`;
  // The shop: another origin (localhost, its own port) serving one page.
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => shopRequests.push({ method: req.method, url: req.url,
                                            headers: JSON.stringify(req.headers), body }));
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname !== '/checkout') { res.writeHead(404); return res.end(); }
    const session = { id: url.searchParams.get('id'), sessionData: url.searchParams.get('data') };
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><meta charset="utf-8">
<script src="${sandboxBase}/adyen/sdk/adyen.js"></script></head>
<body><h1>Shop checkout</h1><div id="card-container"></div>
<script>
window.results = [];
window.errors = [];
AdyenCheckout({
  environment: 'test',
  clientKey: ${JSON.stringify(CLIENT_KEY)},
  session: ${JSON.stringify(session)},
  onPaymentCompleted: function (result, component) { window.results.push(result); },
  onError: function (error, component) { window.errors.push(String(error && error.message)); }
}).then(function (checkout) {
  checkout.create('card').mount('#card-container');
  window.mounted = true;
});
</script></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  shop = { server, base: `http://localhost:${server.address().port}` };
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

async function createSession(reference) {
  const res = await fetch(`${sandboxBase}/adyen/checkout/v71/sessions`, {
    method: 'POST',
    headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ amount: { currency: 'EUR', value: 1999 }, reference,
                           returnUrl: `${shop.base}/done`, merchantAccount: MERCHANT }),
  });
  assert.equal(res.status, 201);
  return res.json();
}

async function sessionStatus(id, sessionResult) {
  const res = await fetch(`${sandboxBase}/adyen/checkout/v71/sessions/${id}?sessionResult=` +
                          encodeURIComponent(sessionResult), { headers: { 'X-API-Key': API_KEY } });
  assert.equal(res.status, 200);
  return res.json();
}

async function openCheckout(reference) {
  const session = await createSession(reference);
  const page = await browser.newPage();
  page.on('request', (r) => browserRequests.push({ url: r.url(), body: r.postData() || '' }));
  const problems = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  await page.goto(`${shop.base}/checkout?id=${encodeURIComponent(session.id)}` +
                  `&data=${encodeURIComponent(session.sessionData)}`);
  await page.waitForFunction(() => window.mounted === true, null, { timeout: WAIT_MS });
  const frame = page.frameLocator('#card-container iframe');
  await frame.locator('#number').waitFor({ timeout: WAIT_MS });
  return { session, page, frame, problems };
}

async function pay(frame, { number, holder = '', expiry = '03/30', cvc = '737' }) {
  await frame.locator('#number').fill(number);
  await frame.locator('#expiry').fill(expiry);
  await frame.locator('#cvc').fill(cvc);
  await frame.locator('#holder').fill(holder);
  await frame.locator('#pay').click();
}

async function nextResult(page, count) {
  await page.waitForFunction((n) => window.results.length >= n, count, { timeout: WAIT_MS });
  return page.evaluate((n) => window.results[n - 1], count);
}

test('a success card pays; the iframe is the sandbox origin, the card never in the shop page',
     async () => {
  const { session, page, frame, problems } = await openCheckout('browser-ok');
  const src = await page.locator('#card-container iframe').getAttribute('src');
  assert.ok(src.startsWith(`${sandboxBase}/adyen/sdk/card.html#`));
  await pay(frame, { number: '4111 1111 4555 1142' });
  const result = await nextResult(page, 1);
  assert.equal(result.resultCode, 'Authorised');
  assert.ok(result.sessionResult);
  const status = await sessionStatus(session.id, result.sessionResult);
  assert.equal(status.status, 'completed');
  assert.equal(status.payments[0].resultCode, 'Authorised');
  // The shop's own document holds no card number.
  assert.ok(!(await page.content()).includes('4111'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a refused card, then a success card in the same session', async () => {
  const { session, page, frame } = await openCheckout('browser-retry');
  await pay(frame, { number: '4111111145551142', holder: 'DECLINED' });
  const refused = await nextResult(page, 1);
  assert.equal(refused.resultCode, 'Refused');
  assert.equal((await sessionStatus(session.id, refused.sessionResult)).status, 'refused');
  await frame.locator('#message.error').waitFor({ timeout: WAIT_MS });
  assert.equal(await frame.locator('#pay').isEnabled(), true);
  await pay(frame, { number: '5555 3412 4444 1115' });
  const ok = await nextResult(page, 2);
  assert.equal(ok.resultCode, 'Authorised');
  const status = await sessionStatus(session.id, ok.sessionResult);
  assert.equal(status.status, 'completed');
  assert.equal(status.payments.length, 1);
  await page.close();
});

test('a 3-D Secure 2 card: a wrong password fails, "password" authorises', async () => {
  const { session, page, frame } = await openCheckout('browser-3ds');
  await pay(frame, { number: '5454 5454 5454 5454' });
  await frame.locator('#password').waitFor({ timeout: WAIT_MS });
  await frame.locator('#password').fill('wrong');
  await frame.locator('#submit-challenge').click();
  const failed = await nextResult(page, 1);
  assert.equal(failed.resultCode, 'Refused');
  await pay(frame, { number: '5454 5454 5454 5454' });
  await frame.locator('#password').waitFor({ state: 'visible', timeout: WAIT_MS });
  await frame.locator('#password').fill('password');
  await frame.locator('#submit-challenge').click();
  const ok = await nextResult(page, 2);
  assert.equal(ok.resultCode, 'Authorised');
  assert.equal((await sessionStatus(session.id, ok.sessionResult)).status, 'completed');
  await page.close();
});

test('no card number ever reached the shop\'s server', () => {
  assert.ok(shopRequests.length >= 3);
  const seen = JSON.stringify(shopRequests);
  // The same search finds the number in what the iframe sent to the sandbox.
  const toSandbox = JSON.stringify(browserRequests.filter((r) => r.url.startsWith(sandboxBase)));
  assert.ok(toSandbox.includes('4111111145551142'), 'the search works');
  for (const number of ['4111111145551142', '5555341244441115', '5454545454545454']) {
    for (const form of [number, number.replace(/(\d{4})(?=\d)/g, '$1 '),
                        number.replace(/(\d{4})(?=\d)/g, '$1%20')]) {
      assert.ok(!seen.includes(form), `${form} reached the shop`);
    }
  }
});

test('messages from another frame or origin do not complete a payment', async () => {
  const { page } = await openCheckout('browser-forged');
  await page.evaluate(() => {
    window.postMessage({ source: 'adyen-sandbox-card', type: 'completed', resultCode: 'Authorised',
                         sessionResult: 'forged' }, '*');
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await page.evaluate(() => window.results), []);
  await page.close();
});
