// The hosted checkout page with Adyen as the PSP, in a real browser (Debian's
// Chromium through playwright-core) against the real engine, the real
// psp-sandbox speaking both Stripe's and Adyen's wire formats, and real
// PostgreSQL. The engine has both PSPs configured: Adyen payment links are
// paid in the sandbox's Adyen Web imitation (its card component in an
// iframe): a success card then capture (202 capture_pending, booked on
// Adyen's CAPTURE notification) and a partial refund; a refused card then a
// success card; a 3-D Secure 2 card with its challenge. A Stripe-format link
// is paid in the same engine beside them. Ledger postings and the trial
// balance are checked through the API.
//
// No card number reaches the engine: as in checkout_browser.test.js, every
// request the engine receives (the browser's, this test's API calls, both
// formats of the sandbox's webhooks) goes through the recording proxy of
// engine_harness.js; requests, answers and the engine's debug log are
// searched for the numbers; the same search over Chromium's requests to the
// sandbox must find them, so the search is shown to work.
//
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL, CHECKOUT_SCREENSHOT_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startBrowserStack, helpersOf, entry, WAIT_MS } = require('./browser_stack');

const CARDS = {
  adyenOk: '4111111145551142',
  adyen3ds: '5454545454545454',
  stripeOk: '4242424242424242',
};

// The world (browser_stack.js): engine with both accounts, sandbox with its
// Adyen mode, proxy and Chromium; its helpers are named here as the flows
// use them.
let s = null;
let engineUrl = null;
let sandboxUrl = null;
let ADYEN = null;
let ADMIN_TOKEN = null;
const { api, createLink, onlyIntentOf, intentReaches, ledgerOf, assertTrialBalance, newPage, shot,
        waitState } = helpersOf(() => s);

/** Opens an Adyen link and waits for the component's card iframe. */
async function openAdyenLink(page, link) {
  const answer = await page.goto(link.url);
  await waitState(page, 'ready');
  const frame = page.frameLocator('#adyen-card iframe');
  await frame.locator('#number').waitFor({ timeout: WAIT_MS });
  return { answer, frame };
}

/** Types a card into Adyen's component, as a shopper would, and presses Pay. */
async function payAdyen(frame, { number, holder = 'Jo Shopper', expiry = '03/30', cvc = '737' }) {
  await frame.locator('#number').fill(number.replace(/(\d{4})(?=\d)/g, '$1 '));
  await frame.locator('#expiry').fill(expiry);
  await frame.locator('#cvc').fill(cvc);
  await frame.locator('#holder').fill(holder);
  await frame.locator('#pay').click();
}

// ---- set-up ---------------------------------------------------------------------------

before(async () => {
  s = await startBrowserStack({ name: 'adyen', adyen: true });
  engineUrl = s.engineUrl;
  sandboxUrl = s.sandboxUrl;
  ADYEN = s.secrets.adyen;
  ADMIN_TOKEN = s.secrets.adminToken;
});

after(async () => {
  if (s) await s.stop();
});

// ---- the flows ------------------------------------------------------------------------

test('an Adyen link paid in the component, captured (202 then captured), partly refunded, ' +
     'settled and reconciled',
     async () => {
  const link = await createLink({ amount: 2500, currency: 'eur', description: 'Linen shirt',
                                  capture_method: 'manual', psp: 'adyen' });
  const { context, page, problems } = await newPage();
  const { answer, frame } = await openAdyenLink(page, link);
  const csp = answer.headers()['content-security-policy'];
  // Adyen Web's origin (the sandbox here) may run script, frame and connect.
  for (const directive of ['script-src', 'frame-src', 'connect-src']) {
    const value = (csp.split(';').map((d) => d.trim()).find((d) => d.startsWith(directive + ' ')) ||
                   '').split(' ');
    assert.ok(value.includes(sandboxUrl), `${directive} names the Adyen SDK origin: ${csp}`);
  }
  const src = await page.locator('#adyen-card iframe').getAttribute('src');
  assert.ok(src.startsWith(`${sandboxUrl}/adyen/sdk/`), src);
  assert.equal(await page.textContent('#amount'), '25.00 EUR');
  const intent = await onlyIntentOf(link.id);
  assert.equal(intent.psp, 'adyen');
  await shot(page, 'component');

  await payAdyen(frame, { number: CARDS.adyenOk });
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
  assert.equal(capture.status, 202, JSON.stringify(capture.json));
  assert.equal(capture.json.status, 'capture_pending');
  pi = await intentReaches(pi.id, 'captured');
  assert.equal(pi.amount_received, 2500);

  const refund = await api('POST', '/v1/refunds', { payment_intent: pi.id, amount: 900 },
                           { 'Idempotency-Key': 're-' + pi.id });
  assert.equal(refund.status, 200, JSON.stringify(refund.json));
  pi = await intentReaches(pi.id, 'partially_refunded');

  const until = Date.now() + WAIT_MS;
  do {
    txs = await ledgerOf(pi.id);
    if (txs.some((t) => t.kind === 'refund')) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < until);
  const kinds = txs.map((t) => t.kind);
  assert.deepEqual(kinds.filter((k) => k !== 'authorization_release'),
                   ['authorization', 'capture', 'refund'], JSON.stringify(kinds));
  const cap = txs.find((t) => t.kind === 'capture');
  assert.equal(entry(cap, 'psp_receivable:adyen', 'debit'), 2500);
  assert.equal(entry(cap, 'merchant_revenue', 'credit'), 2500);
  const ref = txs.find((t) => t.kind === 'refund');
  assert.equal(ref.entries.reduce((s, e) => s + e.debit, 0), 900);
  assert.equal(entry(ref, 'refunds', 'debit'), 900);
  assert.equal(entry(ref, 'psp_receivable:adyen', 'credit'), 900);
  await assertTrialBalance();

  // Settled and reconciled: once Adyen confirmed the refund, the sandbox
  // writes Adyen's settlement details report; its REPORT_AVAILABLE
  // notification makes the engine read the report and book the payout.
  const refundDone = Date.now() + WAIT_MS;
  let rf;
  do {
    rf = (await api('GET', `/v1/refunds/${refund.json.id}`)).json;
    if (rf.status === 'succeeded') break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < refundDone);
  assert.equal(rf.status, 'succeeded', JSON.stringify(rf));
  const settle = await fetch(`${sandboxUrl}/adyen/_sandbox/settle`, {
    method: 'POST', headers: { 'X-API-Key': ADYEN.apiKey, 'Content-Type': 'application/json' },
    body: '{}',
  });
  assert.equal(settle.status, 200, await settle.text());
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
    body: JSON.stringify({ date: new Date().toISOString().slice(0, 10), psp: 'adyen' }),
  });
  const recon = await run.json();
  assert.equal(run.status, 200, JSON.stringify(recon));
  assert.equal(recon.differences_count, 0, JSON.stringify(recon));
  assert.ok(recon.psp_records >= 3, JSON.stringify(recon));
});

test('a refused Adyen card says declined and the page stays payable; a good card then pays',
     async () => {
  const link = await createLink({ amount: 1200, currency: 'eur', description: 'Gift card',
                                  capture_method: 'automatic', psp: 'adyen' });
  const { context, page } = await newPage();
  const { frame } = await openAdyenLink(page, link);
  await payAdyen(frame, { number: CARDS.adyenOk, holder: 'DECLINED' });
  await waitState(page, 'declined');
  assert.match(await page.textContent('#message'), /declined.*try another card/);
  assert.equal(await page.isVisible('#success'), false);
  assert.equal(await frame.locator('#pay').isEnabled(), true);
  await shot(page, 'refused');

  await payAdyen(frame, { number: CARDS.adyenOk });
  await waitState(page, 'paid');
  const intent = await onlyIntentOf(link.id);
  const pi = await intentReaches(intent.id, 'captured');
  assert.equal(pi.amount_received, 1200);
  const txs = await ledgerOf(pi.id);
  assert.equal(txs.filter((t) => t.kind === 'capture').length, 1, JSON.stringify(txs));
  await context.close();
  await assertTrialBalance();
});

test('the 3-D Secure 2 card pays once the shopper passes the challenge', async () => {
  const link = await createLink({ amount: 4000, currency: 'gbp', description: 'Concert ticket',
                                  capture_method: 'automatic', psp: 'adyen' });
  const { context, page } = await newPage();
  const { frame } = await openAdyenLink(page, link);
  await payAdyen(frame, { number: CARDS.adyen3ds });
  await frame.locator('#password').waitFor({ state: 'visible', timeout: WAIT_MS });
  await shot(page, '3ds-challenge');
  assert.equal(await page.isVisible('#success'), false, 'no success before the challenge');
  await frame.locator('#password').fill('password');
  await frame.locator('#submit-challenge').click();
  await waitState(page, 'paid');
  await shot(page, '3ds-paid');
  const intent = await onlyIntentOf(link.id);
  const pi = await intentReaches(intent.id, 'captured');
  assert.equal(pi.amount_received, 4000);
  const cap = (await ledgerOf(pi.id)).find((t) => t.kind === 'capture');
  assert.ok(cap);
  assert.equal(entry(cap, 'psp_receivable', 'debit'), 4000);
  await context.close();
});

test('a Stripe-format link in the same engine still pays, beside the Adyen intents',
     async () => {
  const link = await createLink({ amount: 1500, currency: 'eur', description: 'Mug',
                                  capture_method: 'automatic' });
  const { context, page } = await newPage();
  await page.goto(link.url);
  await waitState(page, 'ready');
  const frame = page.frameLocator('#psp-frame');
  await frame.locator('#number').fill(CARDS.stripeOk.replace(/(\d{4})(?=\d)/g, '$1 '));
  await frame.locator('#exp').fill('12/34');
  await frame.locator('#cvc').fill('123');
  await frame.locator('#pay').click();
  await waitState(page, 'paid');
  await context.close();
  const intent = await onlyIntentOf(link.id);
  assert.notEqual(intent.psp, 'adyen');
  const pi = await intentReaches(intent.id, 'captured');
  assert.equal(entry((await ledgerOf(pi.id)).find((t) => t.kind === 'capture'),
                     'merchant_revenue', 'credit'), 1500);
  const all = (await api('GET', '/v1/payment_intents?limit=100')).json.data;
  assert.ok(all.some((p) => p.psp === 'adyen' && p.status === 'partially_refunded'));
  assert.ok(all.some((p) => p.psp === intent.psp && p.status === 'captured'));
  await assertTrialBalance();
});

// ---- the proof ------------------------------------------------------------------------

function cardPattern(digits) {
  const sep = '(?:[\\s\\-.+_/]|%20|%2B|%2D|\\\\u0020|&nbsp;)*';
  return new RegExp(digits.split('').join(sep));
}

function findCards(text) {
  let decoded = text;
  try { decoded = decodeURIComponent(text.replace(/\+/g, ' ')); } catch (_) { /* raw only */ }
  return Object.entries(CARDS).filter(([, d]) => cardPattern(d).test(text) ||
                                                 cardPattern(d).test(decoded)).map(([n]) => n);
}

test('no card number reached the engine: requests, answers, webhooks and logs are clean',
     () => {
  const toSandbox = s.browserRequests.filter((r) => r.url.startsWith(sandboxUrl + '/') &&
                                                  r.method === 'POST');
  const seen = new Set(toSandbox.flatMap((r) => findCards(r.body)));
  assert.deepEqual([...seen].sort(), Object.keys(CARDS).sort(), 'the search finds typed cards');
  const records = s.proxy.records;
  assert.ok(records.some((r) => r.url.endsWith('/session') && r.method === 'POST'));
  assert.ok(records.some((r) => r.url.endsWith('/status')));
  assert.ok(records.some((r) => r.url === '/v1/webhooks/adyen'), 'Adyen notifications recorded');
  assert.ok(records.some((r) => r.url === '/v1/webhooks/sandbox'), 'Stripe webhooks recorded');
  for (const r of records) {
    const parts = { url: r.url, headers: r.headers.join('\n'), body: r.body,
                    answer_headers: r.responseHeaders.join('\n'), answer: r.response };
    for (const [part, text] of Object.entries(parts)) {
      assert.deepEqual(findCards(text), [], `card number in the ${part} of ${r.method} ${r.url}`);
    }
  }
  for (const r of s.browserRequests) {
    const origin = new URL(r.url).origin;
    assert.ok(origin === engineUrl || origin === sandboxUrl, `unexpected origin ${origin}`);
  }
  assert.ok(s.engine.output.length > 0, 'the engine logged');
  assert.deepEqual(findCards(s.engine.output), [], 'card number in the engine logs');
});
