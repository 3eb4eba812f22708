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

const { startBrowserStack, helpersOf, entry, WAIT_MS } = require('./browser_stack');

// The world (browser_stack.js): engine, sandbox with its PayPal mode, proxy
// and Chromium; its helpers are named here as the flows use them.
let s = null;
let engineUrl = null;
const { api, createLink, onlyIntentOf, intentReaches, ledgerOf, assertTrialBalance, newPage, shot,
        waitState } = helpersOf(() => s);
const sandboxBasic = (method, urlPath, body) => s.paypalBasic(method, urlPath, body);

/** Opens a PayPal link: the page offers PayPal's button. */
async function openPayPalLink(page, link) {
  await page.goto(link.url);
  await waitState(page, 'ready');
  await page.locator('#paypal-pay').waitFor({ timeout: WAIT_MS });
}

/** At the sandbox's approval page: choose the funding and press `button`. */
async function atPayPal(page, funding, button) {
  await s.atPayPal(page, funding, button, `approval-${funding || 'cancel'}`);
}

// ---- set-up ---------------------------------------------------------------------------

before(async () => {
  s = await startBrowserStack({ name: 'paypal', paypal: true });
  engineUrl = s.engineUrl;
});

after(async () => {
  if (s) await s.stop();
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
    headers: { Authorization: `Bearer ${s.secrets.adminToken}`, 'Content-Type': 'application/json' },
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
  const hooks = s.proxy.records.filter((r) => r.url === '/v1/webhooks/paypal');
  assert.ok(hooks.length >= 3, `PayPal events recorded: ${hooks.length}`);
  assert.ok(hooks.every((r) => r.headers.some((h) => /^paypal-transmission-sig$/i.test(h))));
  // Each was verified and taken (a bad signature answers 400; see docs/webhooks.md).
  for (const r of hooks) assert.equal(r.status, 200, `${r.status} ${r.response}`);
  for (const r of s.browserRequests) {
    const origin = new URL(r.url).origin;
    assert.ok(origin === engineUrl || origin === s.sandboxUrl, `unexpected origin ${origin}`);
  }
});
