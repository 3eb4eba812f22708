// The hosted checkout page with PayPal as the PSP (issue 15), in a real
// browser (Debian's Chromium through playwright-core) against the real
// engine, the real psp-sandbox speaking Stripe's and PayPal's wire formats,
// and real PostgreSQL. A PayPal payment link sends the shopper to the
// sandbox's approval page; after the shopper approves, the sandbox's signed
// CHECKOUT.ORDER.APPROVED reaches the engine (through the recording proxy),
// the engine confirms the order at PayPal and the page, back from PayPal,
// shows it paid. Flows: approved and paid (manual capture: authorized by the
// engine, captured, partly refunded, ledger checked, settled from Transaction
// Search and reconciled); a shopper who cancels at the approval page (back
// on the page, unpaid, nothing booked); a capture PayPal denies (the intent
// stays unpaid with last_payment_error, nothing booked).
//
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL, CHECKOUT_SCREENSHOT_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { chromium } = require('playwright-core');
const { startProgram, makeDatabase, freePort, startProxy, required, WAIT_MS } =
  require('./engine_harness');

const SANDBOX_SECRET = 'sk_test_sbx_' + crypto.randomBytes(12).toString('hex');
const SANDBOX_PUBLISHABLE = 'pk_test_sbx_' + crypto.randomBytes(12).toString('hex');
const WEBHOOK_SECRET = 'whsec_' + crypto.randomBytes(12).toString('hex');
const ADMIN_TOKEN = 'adm_' + crypto.randomBytes(16).toString('hex');
const PAYPAL = {
  clientId: 'Ab' + crypto.randomBytes(18).toString('hex'),
  clientSecret: 'Eb' + crypto.randomBytes(18).toString('hex'),
  webhookId: 'WH' + crypto.randomBytes(8).toString('hex').toUpperCase(),
};

const screenshotDir = process.env.CHECKOUT_SCREENSHOT_DIR ||
                      fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-shots-'));
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paypal-checkout-browser-'));

let db = null;
let sandbox = null;
let sandboxUrl = null;
let engine = null;
let engineUrl = null;  // the proxy's URL: the only address of the engine anyone uses
let proxy = null;
let browser = null;
const browserRequests = [];  // every request Chromium made: { url, method, headers, body }

// ---- the merchant's API ---------------------------------------------------------------

async function api(method, urlPath, body, headers = {}) {
  const res = await fetch(engineUrl + urlPath, {
    method,
    headers: { Authorization: `Bearer ${db.keys.shop}`,
               ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

async function createLink(params) {
  const r = await api('POST', '/v1/payment_links', params,
                      { 'Idempotency-Key': 'link-' + crypto.randomUUID() });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.url, `${engineUrl}/pay/${r.json.id}`);
  return r.json;
}

/** The one intent a link's visit made. */
async function onlyIntentOf(linkId) {
  const r = await api('GET', '/v1/payment_intents?limit=100');
  assert.equal(r.status, 200);
  const intents = r.json.data.filter((pi) => pi.metadata && pi.metadata.payment_link === linkId);
  assert.equal(intents.length, 1, JSON.stringify(intents));
  return intents[0];
}

async function intentReaches(id, status) {
  const until = Date.now() + WAIT_MS;
  let pi;
  do {
    pi = (await api('GET', `/v1/payment_intents/${id}`)).json;
    if (pi.status === status) return pi;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < until);
  assert.fail(`intent ${id} is ${pi.status}, expected ${status}`);
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

function entry(tx, prefix, side) {
  const e = tx.entries.find((x) => x.account_key.startsWith(prefix) && x[side] > 0);
  assert.ok(e, `${tx.kind}: no ${side} on ${prefix}: ${JSON.stringify(tx.entries)}`);
  return e[side];
}

async function assertTrialBalance() {
  const res = await fetch(`${engineUrl}/v1/ledger/trial_balance`,
                          { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const tb = await res.json();
  assert.equal(res.status, 200, JSON.stringify(tb));
  assert.equal(tb.balanced, true, JSON.stringify(tb));
  for (const c of tb.currencies) assert.equal(c.debits, c.credits, JSON.stringify(c));
}

// ---- the browser ----------------------------------------------------------------------

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 720, height: 900 } });
  context.on('request', (req) => {
    browserRequests.push({ url: req.url(), method: req.method(), headers: req.headers(),
                           body: req.postData() || '' });
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  return { context, page, problems };
}

let shotNumber = 0;
async function shot(page, name) {
  shotNumber += 1;
  await page.screenshot({ path: path.join(screenshotDir, `paypal-${String(shotNumber)
    .padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function waitState(page, state) {
  await page.waitForSelector(`body[data-state="${state}"]`, { timeout: WAIT_MS });
}

/** Opens a PayPal link: the page offers PayPal's button. */
async function openPayPalLink(page, link) {
  await page.goto(link.url);
  await waitState(page, 'ready');
  await page.locator('#paypal-pay').waitFor({ timeout: WAIT_MS });
}

/** At the sandbox's approval page: choose the funding and press `button`. */
async function atPayPal(page, funding, button) {
  await Promise.all([page.waitForURL(`${sandboxUrl}/paypal/checkoutnow**`),
                     page.click('#paypal-pay')]);
  assert.match(await page.textContent('#buyer'), /sb-buyer@personal\.example\.com/);
  if (funding) await page.selectOption('#funding', funding);
  await shot(page, `approval-${funding || 'cancel'}`);
  await Promise.all([page.waitForURL(`${engineUrl}/pay/**`), page.click(button)]);
}

async function sandboxBasic(method, urlPath, body) {
  const auth = Buffer.from(`${PAYPAL.clientId}:${PAYPAL.clientSecret}`).toString('base64');
  const res = await fetch(`${sandboxUrl}/paypal${urlPath}`, {
    method, headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

// ---- set-up ---------------------------------------------------------------------------

before(async () => {
  db = makeDatabase('paypalco', ['shop']);
  const enginePort = await freePort();
  proxy = await startProxy();
  proxy.upstreamPort = enginePort;
  engineUrl = proxy.url;
  sandbox = await startProgram(workDir, 'psp-sandbox', required('PSP_SANDBOX_BIN'), [
    '--secret-key', SANDBOX_SECRET, '--publishable-key', SANDBOX_PUBLISHABLE,
    '--webhook-url', `${engineUrl}/v1/webhooks/sandbox`, '--webhook-secret', WEBHOOK_SECRET,
    '--webhook-backoff-base-ms', '100', '--webhook-backoff-max-ms', '500',
  ], {
    SANDBOX_PAYPAL_CLIENT_ID: PAYPAL.clientId,
    SANDBOX_PAYPAL_CLIENT_SECRET: PAYPAL.clientSecret,
    SANDBOX_PAYPAL_WEBHOOK_ID: PAYPAL.webhookId,
    SANDBOX_PAYPAL_WEBHOOK_URL: `${engineUrl}/v1/webhooks/paypal`,
  });
  sandboxUrl = `http://127.0.0.1:${sandbox.port}`;
  engine = await startProgram(workDir, 'paymentsd', required('PAYMENTSD_BIN'), [
    '--psp-base-url', sandboxUrl, '--psp-publishable-key', SANDBOX_PUBLISHABLE,
    '--public-url', engineUrl, '--log-level', 'debug',
  ], {
    PAYMENTS_DATABASE_URL: db.url,
    PAYMENTS_PSP_SECRET_KEY: SANDBOX_SECRET,
    PAYMENTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PAYMENTS_ADMIN_TOKEN: ADMIN_TOKEN,
    PAYMENTS_PAYPAL_BASE_URL: `${sandboxUrl}/paypal`,
    PAYMENTS_PAYPAL_CLIENT_ID: PAYPAL.clientId,
    PAYMENTS_PAYPAL_CLIENT_SECRET: PAYPAL.clientSecret,
    PAYMENTS_PAYPAL_WEBHOOK_ID: PAYPAL.webhookId,
    PAYMENTS_PAYPAL_SANDBOX_CERT_URL: sandboxUrl,
    PAYMENTS_PAYPAL_PAYOUT_POLL_S: '1',
  }, enginePort);
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const res = await fetch(`${engineUrl}/readyz`).catch(() => null);
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
  if (engine && process.env.CHECKOUT_KEEP_LOGS) {
    fs.writeFileSync(path.join(screenshotDir, 'paypal-paymentsd.log'), engine.output);
  }
  if (proxy) await proxy.close();
  if (db) db.drop();
  fs.rmSync(workDir, { recursive: true, force: true });
  for (const [name, code] of codes) assert.equal(code, 0, `${name} exits cleanly`);
});

// ---- the flows ------------------------------------------------------------------------

test('a PayPal link approved and paid: authorized by the engine, captured, partly refunded, ' +
     'settled and reconciled', async () => {
  const link = await createLink({ amount: 2500, currency: 'eur', description: 'Linen shirt',
                                  capture_method: 'manual', psp: 'paypal' });
  const { context, page, problems } = await newPage();
  await openPayPalLink(page, link);
  assert.equal(await page.textContent('#amount'), '25.00 EUR');
  const intent = await onlyIntentOf(link.id);
  assert.equal(intent.psp, 'paypal');
  await shot(page, 'button');

  await atPayPal(page, 'balance', '#approve');
  await waitState(page, 'paid');
  assert.match(await page.textContent('#success'), /25\.00 EUR/);
  await shot(page, 'paid');
  assert.deepEqual(problems, []);
  await context.close();

  let pi = await intentReaches(intent.id, 'authorized');
  assert.equal(pi.amount_capturable, 2500);
  let txs = await ledgerOf(pi.id);
  assert.deepEqual(txs.map((t) => t.kind), ['authorization']);

  const capture = await api('POST', `/v1/payment_intents/${pi.id}/capture`, {},
                            { 'Idempotency-Key': 'cap-' + pi.id });
  assert.equal(capture.status, 200, JSON.stringify(capture.json));
  assert.equal(capture.json.status, 'captured');
  assert.equal(capture.json.amount_received, 2500);

  const refund = await api('POST', '/v1/refunds', { payment_intent: pi.id, amount: 900 },
                           { 'Idempotency-Key': 're-' + pi.id });
  assert.equal(refund.status, 200, JSON.stringify(refund.json));
  pi = await intentReaches(pi.id, 'partially_refunded');
  txs = await ledgerOf(pi.id);
  const kinds = txs.map((t) => t.kind);
  assert.deepEqual(kinds.filter((k) => k !== 'authorization_release'),
                   ['authorization', 'capture', 'refund'], JSON.stringify(kinds));
  const cap = txs.find((t) => t.kind === 'capture');
  assert.equal(entry(cap, 'psp_receivable:paypal', 'debit'), 2500);
  assert.equal(entry(cap, 'merchant_revenue', 'credit'), 2500);
  const ref = txs.find((t) => t.kind === 'refund');
  assert.equal(entry(ref, 'refunds', 'debit'), 900);
  assert.equal(entry(ref, 'psp_receivable:paypal', 'credit'), 900);
  await assertTrialBalance();

  // PayPal announces no withdrawals: the engine reads them from Transaction Search.
  const settle = await sandboxBasic('POST', '/_sandbox/settle', {});
  assert.equal(settle.status, 200, JSON.stringify(settle.json));
  const settledBy = Date.now() + WAIT_MS;
  let settlements;
  do {
    settlements = (await api('GET', `/v1/ledger/settlements?payment_intent=${pi.id}`)).json;
    if (settlements.data && settlements.data.length > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < settledBy);
  assert.ok(settlements.data && settlements.data.length > 0, JSON.stringify(settlements));
  await assertTrialBalance();
  const run = await fetch(`${engineUrl}/v1/admin/reconciliation/runs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ date: new Date().toISOString().slice(0, 10), psp: 'paypal' }),
  });
  const recon = await run.json();
  assert.equal(run.status, 200, JSON.stringify(recon));
  assert.equal(recon.differences_count, 0, JSON.stringify(recon));
  assert.ok(recon.psp_records >= 3, JSON.stringify(recon));
});

test('a shopper who cancels at PayPal is back on the page, unpaid, and nothing is booked',
     async () => {
  const link = await createLink({ amount: 1200, currency: 'usd', description: 'Gift card',
                                  psp: 'paypal' });
  const { context, page } = await newPage();
  await openPayPalLink(page, link);
  const intent = await onlyIntentOf(link.id);
  await atPayPal(page, null, '#cancel');
  await waitState(page, 'declined');
  assert.match(await page.textContent('#message'), /canceled/);
  assert.equal(await page.isVisible('#success'), false);
  // The button is offered again.
  await page.locator('#paypal-pay').waitFor({ timeout: WAIT_MS });
  await shot(page, 'canceled');
  await context.close();
  const pi = (await api('GET', `/v1/payment_intents/${intent.id}`)).json;
  assert.equal(pi.status, 'created');
  assert.deepEqual(await ledgerOf(intent.id), []);
});

test('a capture PayPal denies leaves the payment unpaid with the reason, and nothing is booked',
     async () => {
  const link = await createLink({ amount: 1800, currency: 'eur', description: 'Desk lamp',
                                  psp: 'paypal' });
  const { context, page } = await newPage();
  await openPayPalLink(page, link);
  const intent = await onlyIntentOf(link.id);
  await atPayPal(page, 'deny_capture', '#approve');
  // The engine confirms (captures) the approved order; PayPal declines it.
  const until = Date.now() + WAIT_MS;
  let pi;
  do {
    pi = (await api('GET', `/v1/payment_intents/${intent.id}`)).json;
    if (pi.last_payment_error) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < until);
  assert.ok(pi.last_payment_error, JSON.stringify(pi));
  assert.equal(pi.status, 'created');
  assert.equal(pi.amount_received, 0);
  // The page, back from PayPal, tells the shopper.
  await waitState(page, 'declined');
  assert.match(await page.textContent('#message'), /declined/i);
  assert.equal(await page.isVisible('#success'), false);
  await shot(page, 'denied');
  await context.close();
  assert.deepEqual(await ledgerOf(intent.id), []);
  const events = (await api('GET', `/v1/payment_intents/${intent.id}/events`)).json;
  assert.ok(events.data.some((e) => e.action === 'payment_failed'), JSON.stringify(events));
  await assertTrialBalance();
});

test('PayPal events reached the engine signed and were verified', () => {
  const hooks = proxy.records.filter((r) => r.url === '/v1/webhooks/paypal');
  assert.ok(hooks.length >= 3, `PayPal events recorded: ${hooks.length}`);
  assert.ok(hooks.every((r) => r.headers.some((h) => /^paypal-transmission-sig$/i.test(h))));
  // Each was verified and taken (a bad signature answers 400; see docs/webhooks.md).
  for (const r of hooks) assert.equal(r.status, 200, `${r.status} ${r.response}`);
  for (const r of browserRequests) {
    const origin = new URL(r.url).origin;
    assert.ok(origin === engineUrl || origin === sandboxUrl, `unexpected origin ${origin}`);
  }
});
