// One merchant with all three PSPs (issue 15's done-when), in a real browser
// (Debian's Chromium through playwright-core) against the real engine, the
// real psp-sandbox speaking Stripe's, Adyen's and PayPal's wire formats, and
// real PostgreSQL. The merchant's routing rules (POST /v1/routing) spread
// its payments over the three PSPs by currency, and a create without `psp`
// lands where they say; then the shopper pays one payment link per PSP in
// that PSP's own page (the sandbox's card iframe, Adyen Web's card
// component, PayPal's approval page), the merchant captures, and each
// payment ends captured at the engine and at its PSP, with the books
// balanced.
//
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL, CHECKOUT_SCREENSHOT_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { startBrowserStack, entry, WAIT_MS } = require('./browser_stack');

let s = null;

before(async () => {
  s = await startBrowserStack({ name: 'threepsp', adyen: true, paypal: true });
});

after(async () => {
  if (s) await s.stop();
});

/** Polls `fn` until it answers truthy. */
async function eventually(what, fn) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The PSP's own record of a payment, read at the sandbox. */
const atPsp = {
  async sandbox(ref) {
    const res = await fetch(`${s.sandboxUrl}/v1/payment_intents/${ref}`,
                            { headers: { Authorization: `Bearer ${s.secrets.sandboxSecret}` } });
    assert.equal(res.status, 200);
    const pi = await res.json();
    return { status: pi.status, captured: pi.amount_received };
  },
  // Adyen has no read of a payment: its signed notifications say what it did.
  async adyen(ref) {
    const res = await fetch(`${s.sandboxUrl}/adyen/_sandbox/notifications`,
                            { headers: { 'X-API-Key': s.secrets.adyen.apiKey } });
    assert.equal(res.status, 200);
    const items = (await res.json()).items.map((i) => i.NotificationRequestItem || i);
    const auth = items.find((n) => n.eventCode === 'AUTHORISATION' && n.pspReference === ref &&
                                   n.success === 'true');
    const capture = items.find((n) => n.eventCode === 'CAPTURE' && n.originalReference === ref &&
                                      n.success === 'true');
    return { status: capture ? 'captured' : auth ? 'authorised' : 'none',
             captured: capture ? capture.amount.value : 0 };
  },
  async paypal(ref) {
    const p = s.secrets.paypal;
    const auth = Buffer.from(`${p.clientId}:${p.clientSecret}`).toString('base64');
    const t = await fetch(`${s.sandboxUrl}/paypal/v1/oauth2/token`, {
      method: 'POST', body: 'grant_type=client_credentials',
      headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(t.status, 200);
    const bearer = (await t.json()).access_token;
    const res = await fetch(`${s.sandboxUrl}/paypal/v2/checkout/orders/${ref}`,
                            { headers: { Authorization: `Bearer ${bearer}` } });
    assert.equal(res.status, 200);
    const order = await res.json();
    const captures = order.purchase_units[0].payments?.captures || [];
    const done = captures.filter((c) => c.status === 'COMPLETED');
    return { status: order.status, captured: done.reduce((sum, c) => sum + Math.round(Number(c.amount.value) * 100), 0) };
  },
};

test('routing rules over the three PSPs send each create to its PSP by currency', async () => {
  const rules = await s.api('POST', '/v1/routing', {
    rules: [{ currency: 'eur', psps: ['adyen', 'paypal', 'stripe'] },
            { currency: 'gbp', psps: ['paypal', 'stripe', 'adyen'] }],
    default_psps: ['stripe', 'adyen', 'paypal'],
  });
  assert.equal(rules.status, 200, JSON.stringify(rules.json));
  const stripeName = rules.json.default_psps[0].psp; // the Stripe-format account's name
  const expected = { usd: stripeName, eur: 'adyen', gbp: 'paypal' };
  for (const [currency, psp] of Object.entries(expected)) {
    const r = await s.api('POST', '/v1/payment_intents', { amount: 1100, currency },
                          { 'Idempotency-Key': `routed-${currency}-${crypto.randomUUID()}` });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.psp, psp, `${currency} goes to ${psp}`);
    assert.ok(r.json.psp_reference, JSON.stringify(r.json));
  }
  const read = await s.api('GET', '/v1/routing');
  assert.equal(read.status, 200);
  assert.ok(read.json.recent_decisions.length >= 3, JSON.stringify(read.json.recent_decisions));
});

test('the shopper pays through each PSP\'s page, the merchant captures, and each payment is ' +
     'captured at the engine and at its PSP', async () => {
  const links = {
    sandbox: await s.createLink({ amount: 1500, currency: 'usd', description: 'Mug',
                                  capture_method: 'manual', psp: 'stripe' }),
    adyen: await s.createLink({ amount: 2500, currency: 'eur', description: 'Linen shirt',
                                capture_method: 'manual', psp: 'adyen' }),
    paypal: await s.createLink({ amount: 1800, currency: 'gbp', description: 'Desk lamp',
                                 capture_method: 'manual', psp: 'paypal' }),
  };
  const intents = {};
  for (const [psp, link] of Object.entries(links)) {
    const { context, page, problems } = await s.newPage();
    await page.goto(link.url);
    await s.waitState(page, 'ready');
    if (psp === 'sandbox') await s.payCardFrame(page, '4242424242424242');
    if (psp === 'adyen') await s.payAdyen(page, { number: '4111111145551142' });
    if (psp === 'paypal') await s.atPayPal(page, 'balance', '#approve', 'three-psps-paypal');
    await s.waitState(page, 'paid');
    await s.shot(page, `paid-${psp}`);
    assert.deepEqual(problems, [], `${psp}: no errors in the page`);
    await context.close();
    intents[psp] = await s.onlyIntentOf(link.id);
  }
  // Each link's intent is at its PSP (the Stripe-format account answers
  // its own name, whatever alias the link used).
  assert.equal(intents.adyen.psp, 'adyen');
  assert.equal(intents.paypal.psp, 'paypal');
  assert.ok(!['adyen', 'paypal'].includes(intents.sandbox.psp), intents.sandbox.psp);

  for (const [psp, intent] of Object.entries(intents)) {
    let pi = await s.intentReaches(intent.id, 'authorized');
    assert.equal(pi.amount_capturable, intent.amount, `${psp}: the whole amount is held`);
    const cap = await s.api('POST', `/v1/payment_intents/${pi.id}/capture`, {},
                            { 'Idempotency-Key': 'cap-' + pi.id });
    // Adyen confirms a capture later (202 capture_pending); the others at once.
    assert.ok(cap.status === 200 || (psp === 'adyen' && cap.status === 202), JSON.stringify(cap.json));
    pi = await s.intentReaches(pi.id, 'captured');
    assert.equal(pi.amount_received, intent.amount);
    const capture = await eventually(`${psp}: the capture booked`,
                                     async () => (await s.ledgerOf(pi.id)).find((t) => t.kind === 'capture'));
    assert.equal(entry(capture, `psp_receivable:${intent.psp}`, 'debit'), intent.amount);
    assert.equal(entry(capture, 'merchant_revenue', 'credit'), intent.amount);
    // The PSP's side.
    const there = await eventually(`${psp}: the PSP shows the capture`, async () => {
      const v = await atPsp[psp](pi.psp_reference);
      return v.captured === intent.amount ? v : null;
    });
    assert.ok(['succeeded', 'captured', 'COMPLETED'].includes(there.status), JSON.stringify(there));
  }
  await s.assertTrialBalance();
});
