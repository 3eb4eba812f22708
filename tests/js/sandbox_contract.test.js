// Contract: every object psp-sandbox returns has the shape Stripe's OpenAPI
// description gives it (required properties present, no invented ones, JSON
// types, nullability and enums), checked against
// fixtures/stripe_object_shapes.json, which is derived from the spec.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startSandbox } = require('./sandbox_helpers');
const shapes = require('./fixtures/stripe_object_shapes.json').objects;

const SECRET_KEY = 'sk_test_contract0000000000000001';

/** Properties newer than the 2020-08-27 spec that the issue asks for. */
const NEWER_FIELDS = {
  payment_intent: ['latest_charge'],
  balance_transaction: ['payout'],
};

let sandbox;

before(async () => {
  sandbox = await startSandbox(['--secret-key', SECRET_KEY, '--seed', '3']);
});

after(async () => {
  if (sandbox) assert.equal(await sandbox.stop(), 0);
});

async function call(method, path, params) {
  const res = await fetch(`http://127.0.0.1:${sandbox.port}${path}`, {
    method,
    headers: { Authorization: `Bearer ${SECRET_KEY}`,
               'Content-Type': 'application/x-www-form-urlencoded' },
    body: params ? new URLSearchParams(params).toString() : undefined,
  });
  return { status: res.status, json: await res.json() };
}

function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** Checks one object against its shape; returns a list of problems. */
function problems(kind, object) {
  const shape = shapes[kind];
  const out = [];
  for (const name of shape.required) {
    if (!(name in object)) out.push(`${kind}.${name} is required but missing`);
  }
  for (const [name, value] of Object.entries(object)) {
    const prop = shape.properties[name];
    if (!prop) {
      if (!(NEWER_FIELDS[kind] || []).includes(name)) out.push(`${kind}.${name} is not in the spec`);
      continue;
    }
    const t = typeOf(value);
    if (t === 'null') {
      if (!prop.nullable) out.push(`${kind}.${name} is null but not nullable`);
      continue;
    }
    const allowed = prop.types.includes('number') ? [...prop.types, 'integer'] : prop.types;
    if (!allowed.includes(t)) out.push(`${kind}.${name} is ${t}, spec says ${prop.types}`);
    if (prop.enum && !prop.enum.includes(value)) {
      out.push(`${kind}.${name} = ${JSON.stringify(value)} is not one of ${prop.enum}`);
    }
  }
  return out;
}

function assertShape(kind, object) {
  assert.deepEqual(problems(kind, object), [], JSON.stringify(object));
}

test('payment intents in every reachable status have Stripe\'s shape', async () => {
  const fresh = await call('POST', '/v1/payment_intents', { amount: '1000', currency: 'usd' });
  assertShape('payment_intent', fresh.json);
  const auth = await call('POST', '/v1/payment_intents', {
    amount: '1000', currency: 'usd', capture_method: 'manual',
    payment_method: 'pm_card_visa', confirm: 'true' });
  assert.equal(auth.json.status, 'requires_capture');
  assertShape('payment_intent', auth.json);
  const action = await call('POST', '/v1/payment_intents', {
    amount: '1000', currency: 'usd', payment_method: 'pm_card_authenticationRequired',
    confirm: 'true' });
  assert.equal(action.json.status, 'requires_action');
  assertShape('payment_intent', action.json);
  const canceled = await call('POST', `/v1/payment_intents/${action.json.id}/cancel`);
  assertShape('payment_intent', canceled.json);
  const declined = await call('POST', '/v1/payment_intents', {
    amount: '1000', currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: 'true' });
  assert.equal(declined.status, 402);
  assertShape('api_errors', declined.json.error);
  assertShape('payment_intent', declined.json.error.payment_intent);
  const failedCharge = await call('GET', `/v1/charges/${declined.json.error.charge}`);
  assertShape('charge', failedCharge.json);
});

test('charges, refunds, balance transactions, payouts and events have Stripe\'s shape', async () => {
  const paid = await call('POST', '/v1/payment_intents', {
    amount: '5000', currency: 'usd', payment_method: 'pm_card_visa', confirm: 'true' });
  assertShape('payment_intent', paid.json);
  const refund = await call('POST', '/v1/refunds', { payment_intent: paid.json.id, amount: '100' });
  assertShape('refund', refund.json);
  const charge = await call('GET', `/v1/charges/${paid.json.latest_charge}`);
  assertShape('charge', charge.json);
  for (const r of charge.json.refunds.data) assertShape('refund', r);
  await call('POST', '/_sandbox/settlement/run');
  const payouts = await call('GET', '/v1/payouts');
  assert.ok(payouts.json.data.length > 0);
  for (const p of payouts.json.data) assertShape('payout', p);
  const txns = await call('GET', '/v1/balance_transactions?limit=100');
  assert.ok(txns.json.data.length >= 2);
  for (const t of txns.json.data) assertShape('balance_transaction', t);
  const events = await call('GET', '/v1/events?limit=100');
  for (const e of events.json.data) {
    assertShape('event', e);
    const kind = e.data.object.object;
    if (shapes[kind]) assertShape(kind, e.data.object);
  }
});

test('error bodies have Stripe\'s error shape', async () => {
  const bad = await call('POST', '/v1/payment_intents', { amount: 'x', currency: 'usd' });
  assert.equal(bad.status, 400);
  assertShape('api_errors', bad.json.error);
  const missing = await call('GET', '/v1/payment_intents/pi_nope');
  assert.equal(missing.status, 404);
  assertShape('api_errors', missing.json.error);
});
