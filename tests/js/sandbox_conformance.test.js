// Conformance of psp-sandbox with Stripe's official Node.js library: the
// library is pointed at a real sandbox process (PSP_SANDBOX_BIN) and drives
// create, confirm, capture, refund, settlement, and verifies a delivered
// webhook with stripe.webhooks.constructEvent.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');

const { waitFor, startSandbox } = require('./sandbox_helpers');

let Stripe;
try {
  Stripe = require('stripe');
} catch (err) {
  throw new Error('tests/js/node_modules is missing the "stripe" package: run `npm ci` in ' +
                  'tests/js (./dev.sh does) before running this test. (' + err.message + ')');
}

const SECRET_KEY = 'sk_test_nodeconformance000000001';
const PUBLISHABLE_KEY = 'pk_test_nodeconformance000000001';
const WEBHOOK_SECRET = 'whsec_nodeconformance00000000000001';

let sandbox;        // { port, child, stop }
let stripe;         // the official client, pointed at the sandbox
let port;           // the sandbox's port
let receiver;       // our webhook endpoint
const deliveries = [];  // { body, signature }

before(async () => {
  receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ body: Buffer.concat(chunks).toString('utf8'),
                        signature: req.headers['stripe-signature'] });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"received":true}');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${receiver.address().port}/webhooks/stripe`;

  sandbox = await startSandbox(['--secret-key', SECRET_KEY, '--publishable-key', PUBLISHABLE_KEY,
                                 '--webhook-url', receiverUrl, '--webhook-secret', WEBHOOK_SECRET,
                                 '--seed', '1']);
  port = sandbox.port;
  stripe = new Stripe(SECRET_KEY, { host: '127.0.0.1', port, protocol: 'http',
                                    maxNetworkRetries: 0 });
});

after(async () => {
  if (sandbox) assert.equal(await sandbox.stop(), 0);
  if (receiver) await new Promise((resolve) => receiver.close(resolve));
});

test('create, confirm, partial capture and refund through stripe-node', async () => {
  const created = await stripe.paymentIntents.create({
    amount: 2000, currency: 'usd', capture_method: 'manual',
    payment_method_types: ['card'], metadata: { order: '42' }, description: 'node conformance',
  });
  assert.equal(created.object, 'payment_intent');
  assert.equal(created.status, 'requires_payment_method');
  assert.equal(created.metadata.order, '42');
  assert.match(created.client_secret, new RegExp(`^${created.id}_secret_`));

  const confirmed = await stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa' });
  assert.equal(confirmed.status, 'requires_capture');
  assert.equal(confirmed.amount_capturable, 2000);

  const captured = await stripe.paymentIntents.capture(created.id, { amount_to_capture: 1500 });
  assert.equal(captured.status, 'succeeded');
  assert.equal(captured.amount_received, 1500);
  assert.equal(captured.amount_capturable, 0);

  const charge = await stripe.charges.retrieve(captured.latest_charge);
  assert.equal(charge.amount_captured, 1500);

  const refund = await stripe.refunds.create({ payment_intent: created.id, amount: 500 });
  assert.equal(refund.object, 'refund');
  assert.equal(refund.status, 'succeeded');
  assert.equal((await stripe.refunds.retrieve(refund.id)).amount, 500);

  await assert.rejects(stripe.refunds.create({ payment_intent: created.id, amount: 1001 }),
                       (err) => err.type === 'StripeInvalidRequestError' && err.param === 'amount');
});

test('a declined card surfaces as StripeCardError with its decline code', async () => {
  const pi = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
  await assert.rejects(
    stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclinedInsufficientFunds' }),
    (err) => err.type === 'StripeCardError' && err.code === 'card_declined' &&
             err.decline_code === 'insufficient_funds' && err.statusCode === 402 &&
             typeof err.requestId === 'string' && err.requestId.startsWith('req_'));
  const after = await stripe.paymentIntents.retrieve(pi.id);
  assert.equal(after.status, 'requires_payment_method');
  assert.equal(after.last_payment_error.decline_code, 'insufficient_funds');
});

test('idempotency keys replay through stripe-node and mismatches are idempotency errors', async () => {
  const params = { amount: 300, currency: 'usd' };
  const a = await stripe.paymentIntents.create(params, { idempotencyKey: 'node-key-1' });
  const b = await stripe.paymentIntents.create(params, { idempotencyKey: 'node-key-1' });
  assert.equal(a.id, b.id);
  await assert.rejects(stripe.paymentIntents.create({ amount: 301, currency: 'usd' },
                                                    { idempotencyKey: 'node-key-1' }),
                       (err) => err.type === 'StripeIdempotencyError');
});

test('a wrong key surfaces as StripeAuthenticationError', async () => {
  const wrong = new Stripe('sk_test_wrong', { host: '127.0.0.1', port, protocol: 'http',
                                              maxNetworkRetries: 0 });
  await assert.rejects(wrong.paymentIntents.create({ amount: 100, currency: 'usd' }),
                       (err) => err.type === 'StripeAuthenticationError');
});

test('events, settlement, payouts and balance transactions list through stripe-node', async () => {
  await stripe.paymentIntents.create({ amount: 1000, currency: 'usd',
                                       payment_method: 'pm_card_visa', confirm: true });
  const events = await stripe.events.list({ limit: 3 });
  assert.equal(events.object, 'list');
  assert.equal(events.data.length, 3);
  const all = [];
  for await (const e of stripe.events.list({ limit: 2 })) all.push(e.id);
  assert.equal(new Set(all).size, all.length);
  assert.ok(all.length > 3);

  const res = await fetch(`http://127.0.0.1:${port}/_sandbox/settlement/run`, {
    method: 'POST', headers: { Authorization: `Bearer ${SECRET_KEY}` } });
  assert.equal(res.status, 200);
  const payouts = await stripe.payouts.list();
  assert.equal(payouts.data.length, 1);
  const payout = await stripe.payouts.retrieve(payouts.data[0].id);
  assert.equal(payout.status, 'paid');
  const txns = await stripe.balanceTransactions.list({ payout: payout.id, limit: 100 });
  const net = txns.data.reduce((sum, t) => sum + t.net, 0);
  assert.equal(net, payout.amount);
});

test('a delivered webhook verifies with stripe.webhooks.constructEvent', async () => {
  const pi = await stripe.paymentIntents.create({ amount: 4200, currency: 'usd',
                                                  payment_method: 'pm_card_visa', confirm: true });
  const delivery = await waitFor(() => deliveries.find((d) => {
    const e = JSON.parse(d.body);
    return e.type === 'payment_intent.succeeded' && e.data.object.id === pi.id;
  }));
  const event = stripe.webhooks.constructEvent(delivery.body, delivery.signature, WEBHOOK_SECRET);
  assert.equal(event.type, 'payment_intent.succeeded');
  assert.equal(event.data.object.amount_received, 4200);
  assert.throws(() => stripe.webhooks.constructEvent(delivery.body, delivery.signature,
                                                     'whsec_not_the_secret'),
                (err) => err.type === 'StripeSignatureVerificationError');
  const tampered = delivery.body.replace('4200', '4201');
  assert.throws(() => stripe.webhooks.constructEvent(tampered, delivery.signature, WEBHOOK_SECRET));
});
