// The hosted checkout page in a real browser (Debian's Chromium through
// playwright-core) against the real engine, the real sandbox PSP and real
// PostgreSQL: payment links paid with a good card, a declined card then a
// good one, and the 3-D Secure card (approved, and failed). Each intent's
// final state and ledger postings are checked through the API.
//
// Proof that card numbers never reach the engine: every request the engine
// receives goes through a recording HTTP proxy written here (the browser,
// this test's API calls and the sandbox's webhooks all use the proxy's URL;
// only the proxy knows the engine's port). The proxy keeps each request's
// method, URL, raw headers and body, and each answer, byte for byte as on the
// wire. At the end no card number, in any formatting, may appear in any of
// them or in the engine's logs; the same search run over the browser's own
// requests to the PSP must find the numbers, so the search is shown to work.
//
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL, CHECKOUT_SCREENSHOT_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const { chromium } = require('playwright-core');
const { Webhook } = require('standardwebhooks');
const { waitFor } = require('./sandbox_helpers');
const { startProgram, makeDatabase, required, startProxy } = require('./engine_harness');

const CARDS = {
  visa: '4242424242424242',
  declined: '4000000000000002',
  threeDs: '4000002500003155',
};
const SECRET_KEY = 'sk_test_checkout_' + crypto.randomBytes(12).toString('hex');
const SANDBOX_SECRET = 'sk_test_sbx_' + crypto.randomBytes(12).toString('hex');
const SANDBOX_PUBLISHABLE = 'pk_test_sbx_' + crypto.randomBytes(12).toString('hex');
const WEBHOOK_SECRET = 'whsec_' + crypto.randomBytes(12).toString('hex');
const WAIT_MS = 20000;

const screenshotDir = process.env.CHECKOUT_SCREENSHOT_DIR ||
                      fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-shots-'));
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-browser-'));

let db = null;
let sandbox = null;
let engine = null;
let proxy = null;
let browser = null;
const browserRequests = [];  // every request Chromium made: { url, method, headers, body }

// ---- the merchant's API (through the proxy, so it is recorded too) --------------------

async function api(method, urlPath, body, headers = {}) {
  const res = await fetch(proxy.url + urlPath, {
    method,
    headers: { Authorization: `Bearer ${SECRET_KEY}`,
               ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  return { status: res.status, json };
}

async function createLink(params) {
  const r = await api('POST', '/v1/payment_links', params,
                      { 'Idempotency-Key': 'link-' + crypto.randomUUID() });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.match(r.json.id, /^plink_[0-9A-Za-z]{24}$/);
  assert.equal(r.json.url, `${proxy.url}/pay/${r.json.id}`);
  return r.json;
}

/** The merchant's intents made from one link (metadata.payment_link). */
async function intentsOfLink(linkId) {
  const r = await api('GET', '/v1/payment_intents?limit=100');
  assert.equal(r.status, 200);
  return r.json.data.filter((pi) => pi.metadata && pi.metadata.payment_link === linkId);
}

/** The one intent a link's visit made; fails when there is not exactly one. */
async function onlyIntentOf(linkId) {
  const intents = await intentsOfLink(linkId);
  assert.equal(intents.length, 1, `one intent for ${linkId}, got ${intents.length}`);
  return intents[0];
}

/** Waits until the engine's intent reaches `status` (webhooks are asynchronous). */
async function intentReaches(id, status) {
  const until = Date.now() + WAIT_MS;
  let last;
  while (Date.now() < until) {
    last = (await api('GET', `/v1/payment_intents/${id}`)).json;
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`intent ${id} did not reach ${status}; last: ${JSON.stringify(last)}`);
}

async function ledgerOf(id) {
  const r = await api('GET', `/v1/ledger/transactions?payment_intent=${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  for (const tx of r.json.data) {
    const debits = tx.entries.reduce((s, e) => s + e.debit, 0);
    const credits = tx.entries.reduce((s, e) => s + e.credit, 0);
    assert.equal(debits, credits, `transaction ${tx.id} balances`);
  }
  return r.json.data;
}

/** The capture posting: psp_receivable debited and merchant_revenue credited `amount`. */
function assertCaptured(txs, amount) {
  const captures = txs.filter((t) => t.kind === 'capture');
  assert.equal(captures.length, 1, JSON.stringify(txs));
  const entries = captures[0].entries;
  const receivable = entries.find((e) => e.account_key.startsWith('psp_receivable'));
  const revenue = entries.find((e) => e.account_key.startsWith('merchant_revenue'));
  assert.ok(receivable && revenue, JSON.stringify(entries));
  assert.equal(receivable.debit, amount);
  assert.equal(revenue.credit, amount);
}

// ---- the browser --------------------------------------------------------------------

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 720, height: 900 } });
  context.on('request', (req) => {
    browserRequests.push({ url: req.url(), method: req.method(), headers: req.headers(),
                           body: req.postData() || '' });
  });
  return { context, page: await context.newPage() };
}

let shotNumber = 0;
async function shot(page, name) {
  shotNumber += 1;
  const file = path.join(screenshotDir, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Types a card into the PSP's iframe and presses its Pay button. */
async function payWith(page, number, frameSelector = '#psp-frame') {
  const frame = page.frameLocator(frameSelector);
  // Typed as a shopper would, with spaces; the iframe strips them.
  await frame.locator('#number').fill(number.replace(/(\d{4})(?=\d)/g, '$1 '));
  await frame.locator('#exp').fill('12/34');
  await frame.locator('#cvc').fill('123');
  await frame.locator('#pay').click();
}

async function waitState(page, state) {
  await page.waitForSelector(`body[data-state="${state}"]`, { timeout: WAIT_MS });
}

async function openLink(page, link) {
  await page.goto(link.url);
  await waitState(page, 'ready');
  await page.frameLocator('#psp-frame').locator('#number').waitFor({ timeout: WAIT_MS });
}

// ---- set-up ---------------------------------------------------------------------------

before(async () => {
  db = makeDatabase('checkout', ['checkout-shop'], { 'checkout-shop': SECRET_KEY });
  proxy = await startProxy();
  sandbox = await startProgram(workDir, 'psp-sandbox', required('PSP_SANDBOX_BIN'), [
    '--secret-key', SANDBOX_SECRET, '--publishable-key', SANDBOX_PUBLISHABLE,
    '--webhook-url', `${proxy.url}/v1/webhooks/sandbox`, '--webhook-secret', WEBHOOK_SECRET,
    '--webhook-backoff-base-ms', '100', '--webhook-backoff-max-ms', '500',
  ], {});
  const sandboxUrl = `http://127.0.0.1:${sandbox.port}`;
  engine = await startProgram(workDir, 'paymentsd', required('PAYMENTSD_BIN'), [
    '--psp-base-url', sandboxUrl, '--psp-publishable-key', SANDBOX_PUBLISHABLE,
    '--public-url', proxy.url, '--log-level', 'debug',
  ], {
    PAYMENTS_DATABASE_URL: db.url,
    PAYMENTS_PSP_SECRET_KEY: SANDBOX_SECRET,
    PAYMENTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  proxy.upstreamPort = engine.port;
  await waitFor(() => engine.child.exitCode === null, WAIT_MS);
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const res = await fetch(`${proxy.url}/readyz`).catch(() => null);
    if (res && res.status === 200) break;
    if (Date.now() > until) throw new Error('engine not ready:\n' + engine.output);
    await new Promise((r) => setTimeout(r, 100));
  }
  fs.mkdirSync(screenshotDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  if (browser) await browser.close();
  const codes = [];
  if (engine) codes.push(['paymentsd', await engine.stop()]);
  if (sandbox) codes.push(['psp-sandbox', await sandbox.stop()]);
  if (proxy) await proxy.close();
  if (db) db.drop();
  if (engine && process.env.CHECKOUT_KEEP_LOGS) {
    fs.writeFileSync(path.join(screenshotDir, 'paymentsd.log'), engine.output);
  }
  fs.rmSync(workDir, { recursive: true, force: true });
  for (const [name, code] of codes) assert.equal(code, 0, `${name} exits cleanly`);
});

// ---- the flows ------------------------------------------------------------------------

test('a shopper pays a payment link with 4242 4242 4242 4242 and a reload makes no second intent',
     async () => {
  const link = await createLink({ amount: 2599, currency: 'eur', description: 'Blue ceramic mug',
                                  capture_method: 'automatic' });
  const { context, page } = await newPage();
  const pageAnswer = await page.goto(link.url);
  const csp = pageAnswer.headers()['content-security-policy'];
  assert.match(csp, new RegExp(`frame-src http://127\\.0\\.0\\.1:${sandbox.port};`));
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(pageAnswer.headers()['x-content-type-options'], 'nosniff');
  assert.equal(pageAnswer.headers()['referrer-policy'], 'no-referrer');
  const html = await pageAnswer.text();
  assert.doesNotMatch(html, /_secret_|pk_test|<script>/, 'no secret and no inline script in HTML');
  await waitState(page, 'ready');
  assert.equal(await page.textContent('#amount'), '25.99 EUR');
  assert.equal(await page.textContent('#description'), 'Blue ceramic mug');
  const first = await onlyIntentOf(link.id);

  await page.reload();
  await openLink(page, link);
  const again = await onlyIntentOf(link.id);
  assert.equal(again.id, first.id, 'the reload resumed the same intent');
  await shot(page, 'checkout-page');

  await payWith(page, CARDS.visa);
  await waitState(page, 'paid');
  assert.match(await page.textContent('#success'), /25\.99 EUR/);
  await shot(page, 'paid');

  const pi = await intentReaches(first.id, 'captured');
  assert.equal(pi.amount_received, 2599);
  assertCaptured(await ledgerOf(pi.id), 2599);

  // A later visit with the same cookie sees the payment, not a new form.
  await page.reload();
  await waitState(page, 'paid');
  assert.equal((await intentsOfLink(link.id)).length, 1);
  await context.close();
});

test('a declined card shows the PSP message and another card then pays the same intent',
     async () => {
  const link = await createLink({ amount: 1200, currency: 'usd', description: 'Gift card',
                                  capture_method: 'manual' });
  const { context, page } = await newPage();
  await openLink(page, link);
  await payWith(page, CARDS.declined);
  await waitState(page, 'declined');
  assert.match(await page.textContent('#message'), /Your card was declined\..*try another card/);
  await page.frameLocator('#psp-frame').locator('#number').waitFor({ timeout: WAIT_MS });
  await shot(page, 'declined');
  assert.equal(await page.isVisible('#success'), false);

  await payWith(page, CARDS.visa);
  await waitState(page, 'paid');
  await shot(page, 'paid-after-decline');

  const intent = await onlyIntentOf(link.id);
  const pi = await intentReaches(intent.id, 'authorized');
  assert.equal(pi.amount_capturable, 1200);
  let txs = await ledgerOf(pi.id);
  assert.deepEqual(txs.map((t) => t.kind), ['authorization']);
  assert.equal(txs[0].entries.find((e) => e.account_key.startsWith('auth_holds')).debit, 1200);

  // The merchant captures the authorised payment through the API.
  const captured = await api('POST', `/v1/payment_intents/${pi.id}/capture`, {},
                             { 'Idempotency-Key': 'cap-' + pi.id });
  assert.equal(captured.status, 200, JSON.stringify(captured.json));
  assert.equal(captured.json.status, 'captured');
  txs = await ledgerOf(pi.id);
  assertCaptured(txs, 1200);
  await context.close();
});

test('the 3-D Secure card pays once the shopper completes the challenge', async () => {
  const link = await createLink({ amount: 4000, currency: 'gbp', description: 'Concert ticket',
                                  capture_method: 'automatic' });
  const { context, page } = await newPage();
  await openLink(page, link);
  await payWith(page, CARDS.threeDs);
  await waitState(page, 'challenge');
  const frame = page.frameLocator('#psp-frame');
  await frame.locator('#approve').waitFor({ timeout: WAIT_MS });
  await shot(page, '3ds-challenge');
  assert.equal(await page.isVisible('#success'), false, 'no success before the engine says so');
  await frame.locator('#approve').click();
  await waitState(page, 'paid');
  await shot(page, '3ds-paid');

  const intent = await onlyIntentOf(link.id);
  const pi = await intentReaches(intent.id, 'captured');
  assertCaptured(await ledgerOf(pi.id), 4000);
  const events = (await api('GET', `/v1/payment_intents/${pi.id}/events`)).json.data;
  assert.ok(events.some((e) => e.to === 'requires_action'), 'the challenge is in the audit log');
  await context.close();
});

test('a failed 3-D Secure challenge leaves the intent unpaid and offers another card',
     async () => {
  const link = await createLink({ amount: 999, currency: 'eur', description: 'Poster',
                                  capture_method: 'automatic' });
  const { context, page } = await newPage();
  await openLink(page, link);
  await payWith(page, CARDS.threeDs);
  const frame = page.frameLocator('#psp-frame');
  await frame.locator('#fail').waitFor({ timeout: WAIT_MS });
  await frame.locator('#fail').click();
  await waitState(page, 'declined');
  assert.match(await page.textContent('#message'), /try another card/);
  await page.frameLocator('#psp-frame').locator('#number').waitFor({ timeout: WAIT_MS });
  await shot(page, '3ds-failed');
  assert.equal(await page.isVisible('#success'), false);

  const intent = await onlyIntentOf(link.id);
  // Back to created (requires_payment_method at the PSP) with the PSP's error.
  const until = Date.now() + WAIT_MS;
  let pi;
  do {
    pi = (await api('GET', `/v1/payment_intents/${intent.id}`)).json;
    if (pi.status === 'created' && pi.last_payment_error) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < until);
  assert.equal(pi.status, 'created');
  assert.ok(pi.last_payment_error, 'the PSP error is recorded');
  assert.equal(pi.amount_received, 0);
  assert.deepEqual(await ledgerOf(pi.id), [], 'no postings for an unpaid intent');
  const status = await page.evaluate(
    (p) => fetch(p + '/status').then((r) => r.json()), `/pay/${link.id}`);
  assert.equal(status.paid, false);
  await context.close();
});

test('the page shows success only when the engine has it, not when the PSP frame says so',
     async () => {
  // The PSP answers the confirmation with `processing` and decides 2.5 s
  // later: the frame reports "confirmed" at once, the engine knows better.
  const setFaults = (knobs) => fetch(`http://127.0.0.1:${sandbox.port}/_sandbox/faults`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${SANDBOX_SECRET}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(knobs),
  }).then((r) => assert.equal(r.status, 200));
  await setFaults({ reset: true, processing_ms: 2500 });
  try {
    const link = await createLink({ amount: 700, currency: 'jpy', description: 'Green tea',
                                    capture_method: 'automatic' });
    const { context, page } = await newPage();
    await openLink(page, link);
    assert.equal(await page.textContent('#amount'), '700 JPY', 'jpy has no minor unit');
    const confirmedAt = Date.now();
    await payWith(page, CARDS.visa);
    await waitState(page, 'confirming');
    const intent = await onlyIntentOf(link.id);
    await new Promise((r) => setTimeout(r, 1000));
    const during = (await api('GET', `/v1/payment_intents/${intent.id}`)).json;
    if (Date.now() - confirmedAt < 2000) {
      assert.notEqual(during.status, 'captured');
      assert.equal(await page.getAttribute('body', 'data-state'), 'confirming',
                   'no success while the engine has no authorisation');
      await shot(page, 'confirming');
    }
    // A reload while the PSP decides keeps waiting for the engine: no new
    // card form (the PSP's intent is processing), no success yet.
    await page.reload();
    await page.waitForSelector('body[data-state="confirming"], body[data-state="paid"]',
                               { timeout: WAIT_MS });
    await waitState(page, 'paid');
    assert.ok(Date.now() - confirmedAt >= 2000, 'success came after the PSP decided');
    const pi = await intentReaches(intent.id, 'captured');
    assertCaptured(await ledgerOf(pi.id), 700);
    await context.close();
  } finally {
    await setFaults({ reset: true });
  }
});

const EXAMPLE_DIR = path.join(__dirname, '..', '..', 'docs', 'examples', 'merchant_checkout');
const EXAMPLE_FILES = ['server.js', 'public/index.html', 'public/checkout.js'];
let shopOrigin = null;

test('the example merchant integration of docs/checkout.md takes a payment', async () => {
  // The guide shows these files verbatim, so what a merchant copies is what runs here.
  const guide = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'checkout.md'), 'utf8');
  for (const name of EXAMPLE_FILES) {
    const code = fs.readFileSync(path.join(EXAMPLE_DIR, name), 'utf8');
    assert.ok(guide.includes(code), `docs/checkout.md shows ${name} as it is`);
  }
  const shop = spawn(process.execPath, [path.join(EXAMPLE_DIR, 'server.js')], {
    env: { ...process.env, PORT: '0', PAYMENTS_URL: proxy.url, PAYMENTS_API_KEY: SECRET_KEY,
           SANDBOX_URL: `http://127.0.0.1:${sandbox.port}`,
           SANDBOX_PUBLISHABLE_KEY: SANDBOX_PUBLISHABLE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  shop.stdout.on('data', (d) => { out += d; });
  shop.stderr.on('data', (d) => { out += d; });
  try {
    shopOrigin = await waitFor(() => (out.match(/listening on (http:\/\/[\d.:]+)/) || [])[1],
                               WAIT_MS);
    const { context, page } = await newPage();
    const answer = await page.goto(shopOrigin + '/');
    assert.match(answer.headers()['content-security-policy'],
                 new RegExp(`frame-src http://127\\.0\\.0\\.1:${sandbox.port};`));
    const frame = page.frameLocator('#card-frame');
    await frame.locator('#number').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.textContent('#amount'), '15.00 EUR');
    await payWith(page, CARDS.declined, '#card-frame');
    await page.waitForFunction(
      () => /declined.*another card/.test(document.getElementById('message').textContent),
      null, { timeout: WAIT_MS });
    // The example reloads the frame for the next card: wait for the empty form.
    const until = Date.now() + WAIT_MS;
    while ((await frame.locator('#number').inputValue().catch(() => 'loading')) !== '') {
      assert.ok(Date.now() < until, 'a fresh card form after the decline');
      await new Promise((r) => setTimeout(r, 50));
    }
    await payWith(page, CARDS.visa, '#card-frame');
    await page.waitForSelector('body[data-state="paid"]', { timeout: WAIT_MS });
    await shot(page, 'example-shop-paid');
    const intents = (await api('GET', '/v1/payment_intents?limit=100')).json.data
      .filter((pi) => pi.metadata && pi.metadata.order_id);
    assert.equal(intents.length, 1);
    const pi = await intentReaches(intents[0].id, 'captured');
    assertCaptured(await ledgerOf(pi.id), 1500);
    await context.close();
  } finally {
    shop.kill('SIGTERM');
  }
});

// ---- the proof ------------------------------------------------------------------------

/** Matches `digits` with any separators a form, a URL or JSON could put between them. */
function cardPattern(digits) {
  const sep = '(?:[\\s\\-.+_/]|%20|%2B|%2D|\\\\u0020|&nbsp;)*';
  return new RegExp(digits.split('').join(sep));
}

function findCards(text) {
  const found = [];
  let decoded = text;
  try { decoded = decodeURIComponent(text.replace(/\+/g, ' ')); } catch (_) { /* raw only */ }
  for (const [name, digits] of Object.entries(CARDS)) {
    const re = cardPattern(digits);
    if (re.test(text) || re.test(decoded)) found.push(name);
  }
  return found;
}

test('no card number reached the engine: requests, answers and logs are clean', async () => {
  // The search finds the numbers where they belong: the browser sent them to the PSP.
  const toPsp = browserRequests.filter(
    (r) => r.url.startsWith(`http://127.0.0.1:${sandbox.port}/`) && r.method === 'POST');
  const seenAtPsp = new Set(toPsp.flatMap((r) => findCards(r.body)));
  assert.deepEqual([...seenAtPsp].sort(), Object.keys(CARDS).sort(),
                   'every test card was typed and sent to the PSP');

  // The browser talked to the engine (through the proxy) and the PSP, nothing else.
  const origins = new Set(browserRequests.map((r) => new URL(r.url).origin));
  for (const origin of origins) {
    assert.ok(origin === proxy.url || origin === `http://127.0.0.1:${sandbox.port}` ||
              origin === shopOrigin,
              `unexpected network origin ${origin}`);
  }

  // Every kind of traffic the engine had went through the proxy.
  const records = proxy.records;
  assert.ok(records.some((r) => r.url.startsWith('/pay/') && r.method === 'GET'));
  assert.ok(records.some((r) => r.url.endsWith('/session') && r.method === 'POST'));
  assert.ok(records.some((r) => r.url.endsWith('/status')));
  assert.ok(records.some((r) => r.url === '/v1/webhooks/sandbox'), 'webhooks were recorded');
  assert.ok(records.some((r) => r.url.startsWith('/v1/payment_links')));

  for (const r of records) {
    const parts = { url: r.url, headers: r.headers.join('\n'), body: r.body,
                    answer_headers: r.responseHeaders.join('\n'), answer: r.response };
    for (const [part, text] of Object.entries(parts)) {
      assert.deepEqual(findCards(text), [],
                       `card number in the ${part} of ${r.method} ${r.url}`);
    }
  }
  assert.ok(engine.output.length > 0, 'the engine logged');
  assert.deepEqual(findCards(engine.output), [], 'card number in the engine logs');
  fs.writeFileSync(path.join(screenshotDir, 'engine-requests.json'),
                   JSON.stringify(records.map((r) => ({ method: r.method, url: r.url,
                                                        status: r.status })), null, 1));
});

test('the shop\'s receiver registered through the API gets a verified payment_intent.captured',
     async () => {
  // The shop's order system: a receiver that verifies with the Standard
  // Webhooks library, as a merchant's would.
  const received = [];
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const endpoint = await api('POST', '/v1/webhook_endpoints', {
      url: `http://127.0.0.1:${receiver.address().port}/orders/hooks`,
      enabled_events: ['payment_intent.captured'],
    });
    assert.equal(endpoint.status, 200, JSON.stringify(endpoint.json));
    const link = await createLink({ amount: 1250, currency: 'eur', description: 'Tea towel' });
    const { context, page } = await newPage();
    await openLink(page, link);
    await payWith(page, CARDS.visa);
    await waitState(page, 'paid');
    await context.close();
    const wh = new Webhook(endpoint.json.secret);
    const until = Date.now() + WAIT_MS;
    let event = null;
    while (!event && Date.now() < until) {
      for (const d of received) {
        const e = wh.verify(d.body, d.headers);  // throws on a bad signature
        if (e.type === 'payment_intent.captured' && e.data.object.metadata.payment_link === link.id)
          event = e;
      }
      if (!event) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(event, `no verified payment_intent.captured; got ${received.length} deliveries`);
    assert.equal(event.data.object.amount_received, 1250);
    assert.equal(event.data.object.status, 'captured');
  } finally {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
});
