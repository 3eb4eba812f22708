// The PayPal mode against PayPal's own schemas (tests/data/paypal/
// openapi-subset.json): every answer of a varied run (orders, approvals,
// captures, authorizations, voids, refunds, errors, signature checks)
// validates against its documented response; every request the sandbox
// recorded (GET /paypal/_sandbox/requests, the same lines as
// --record-requests) validates against its request schema; every webhook
// the sandbox sent validates against the `event` schema and verifies
// offline (node's zlib CRC-32 and crypto RSA-SHA256 with the certificate
// fetched from PAYPAL-CERT-URL), and a tampered one does not. The worked
// example of webhook-test-vectors.json verifies the same way.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const zlib = require('node:zlib');

const { startSandbox, waitFor } = require('./sandbox_helpers');
const { PayPalApi, VECTORS, signedString, verifyDelivery } = require('./paypal_tools');

const CLIENT_ID = 'AbContractClientId0000000000000000000001';
const CLIENT_SECRET = 'EbContractClientSecret000000000000000001';
const WEBHOOK_ID = '3XK21077BF845673T';
const BASIC = 'Basic ' + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');

let sandbox;
let base;
let receiver;
let token;
const api = new PayPalApi();
const deliveries = [];  // { headers, body }
const answers = [];     // { method, path, status, text }

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { deliveries.push({ headers: req.headers, body }); res.end('{}'); });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  sandbox = await startSandbox([
    '--paypal-client-id', CLIENT_ID, '--paypal-client-secret', CLIENT_SECRET,
    '--paypal-webhook-id', WEBHOOK_ID, '--paypal-pending-ms', '50',
    '--paypal-webhook-url', `http://127.0.0.1:${receiver.address().port}/webhooks/paypal`, '--seed', '21']);
  base = `http://127.0.0.1:${sandbox.port}`;
  const res = await fetch(`${base}/paypal/v1/oauth2/token`, {
    method: 'POST', headers: { Authorization: BASIC, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  token = (await res.json()).access_token;
});

after(async () => {
  if (sandbox) assert.equal(await sandbox.stop(), 0);
  if (receiver) await new Promise((resolve) => receiver.close(resolve));
});

/** One API call; the answer is kept for the schema check. `invalid` marks a request meant to be refused. */
async function call(method, p, body, headers = {}, invalid = false) {
  const res = await fetch(`${base}/paypal${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json',
               ...(invalid ? { 'X-Contract-Invalid': '1' } : {}), ...headers },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  answers.push({ method, path: p, status: res.status, text });
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

async function approve(id, funding = 'balance') {
  const res = await fetch(`${base}/paypal/_sandbox/orders/${id}/approve`, {
    method: 'POST', headers: { Authorization: BASIC, 'Content-Type': 'application/json' },
    body: JSON.stringify({ funding }),
  });
  assert.equal(res.status, 200);
}

function order(intent, value, currency = 'EUR', n = 1) {
  return {
    intent,
    purchase_units: [{ reference_id: 'default', custom_id: `pi_contract_${n}`, invoice_id: `inv-${n}`,
                       description: 'contract run', amount: { currency_code: currency, value } }],
    payment_source: { paypal: { experience_context: {
      return_url: 'https://shop.example/return', cancel_url: 'https://shop.example/cancel',
      user_action: 'PAY_NOW', brand_name: 'Contract Shop', shipping_preference: 'NO_SHIPPING',
    } } },
  };
}

test('worked example: the vector verifies with zlib.crc32 and crypto; WEBHOOK_ID, signed-CRC and tampered variants do not', () => {
  assert.equal(String(zlib.crc32(Buffer.from(VECTORS.raw_body, 'utf8')) >>> 0), VECTORS.crc32_decimal);
  assert.equal(signedString(VECTORS.headers['PAYPAL-TRANSMISSION-ID'], VECTORS.headers['PAYPAL-TRANSMISSION-TIME'],
                            VECTORS.webhook_id, VECTORS.raw_body), VECTORS.signed_string);
  assert.equal(verifyDelivery(VECTORS.headers, VECTORS.raw_body, VECTORS.webhook_id, VECTORS.cert_pem), true);
  assert.equal(verifyDelivery(VECTORS.headers, VECTORS.raw_body, 'WEBHOOK_ID', VECTORS.cert_pem), false);
  assert.equal(verifyDelivery(VECTORS.headers, VECTORS.raw_body.replace('25.99', '26.99'), VECTORS.webhook_id,
                              VECTORS.cert_pem), false);
  const crypto = require('node:crypto');
  const key = new crypto.X509Certificate(VECTORS.cert_pem).publicKey;
  assert.equal(crypto.verify('sha256', Buffer.from(VECTORS.signed_string_wrong_if_crc_signed), key,
                             Buffer.from(VECTORS.headers['PAYPAL-TRANSMISSION-SIG'], 'base64')), false);
  assert.deepEqual(api.checkEvent(VECTORS.raw_body), []);
});

test('a varied run: every answer, recorded request and webhook conforms, and every webhook verifies', async () => {
  // Capture flow, minimal then representation.
  const o1 = await call('POST', '/v2/checkout/orders', order('CAPTURE', '25.99'), { 'PayPal-Request-Id': 'c-1' });
  assert.equal(o1.status, 201);
  await call('POST', '/v2/checkout/orders', order('CAPTURE', '25.99'), { 'PayPal-Request-Id': 'c-1' });
  assert.equal((await call('POST', `/v2/checkout/orders/${o1.body.id}/capture`, {}, {}, true)).status, 422);
  await approve(o1.body.id);
  await call('GET', `/v2/checkout/orders/${o1.body.id}`);
  const cap = await call('POST', `/v2/checkout/orders/${o1.body.id}/capture`, {},
                         { Prefer: 'return=representation', 'PayPal-Request-Id': 'c-1-cap' });
  assert.equal(cap.status, 201);
  const captureId = cap.body.purchase_units[0].payments.captures[0].id;
  await call('GET', `/v2/payments/captures/${captureId}`);
  const r1 = await call('POST', `/v2/payments/captures/${captureId}/refund`,
                        { amount: { currency_code: 'EUR', value: '5.00' }, invoice_id: 'inv-1-r1', note_to_payer: 'sorry' },
                        { Prefer: 'return=representation', 'PayPal-Request-Id': 'c-1-r1' });
  assert.equal(r1.status, 201);
  await call('POST', `/v2/payments/captures/${captureId}/refund`, { amount: { currency_code: 'EUR', value: '1.00' } });
  await call('POST', `/v2/payments/captures/${captureId}/refund`, { amount: { currency_code: 'EUR', value: '99.00' } }, {}, true);
  await call('GET', `/v2/payments/refunds/${r1.body.id}`);

  // Authorization flow: partial, final, void of another.
  const o2 = await call('POST', '/v2/checkout/orders', order('AUTHORIZE', '1500', 'JPY', 2), { 'PayPal-Request-Id': 'c-2' });
  await approve(o2.body.id);
  const auth = await call('POST', `/v2/checkout/orders/${o2.body.id}/authorize`, {}, { Prefer: 'return=representation' });
  const authId = auth.body.purchase_units[0].payments.authorizations[0].id;
  await call('GET', `/v2/payments/authorizations/${authId}`);
  await call('POST', `/v2/payments/authorizations/${authId}/capture`,
             { amount: { currency_code: 'JPY', value: '500' }, final_capture: false, invoice_id: 'inv-2-c1' },
             { Prefer: 'return=representation' });
  await call('POST', `/v2/payments/authorizations/${authId}/capture`, { final_capture: true });
  await call('POST', `/v2/payments/authorizations/${authId}/void`, undefined, {}, true);
  const o3 = await call('POST', '/v2/checkout/orders', order('AUTHORIZE', '3.00', 'USD', 3), { 'PayPal-Request-Id': 'c-3' });
  await approve(o3.body.id);
  const auth3 = await call('POST', `/v2/checkout/orders/${o3.body.id}/authorize`, {});
  const auth3Id = auth3.body.purchase_units[0].payments.authorizations[0].id;
  assert.equal((await call('POST', `/v2/payments/authorizations/${auth3Id}/void`, undefined,
                           { Prefer: 'return=representation' })).status, 200);

  // Declined and pending captures.
  const o4 = await call('POST', '/v2/checkout/orders', order('CAPTURE', '4.00', 'GBP', 4), { 'PayPal-Request-Id': 'c-4' });
  await approve(o4.body.id, 'deny_capture');
  await call('POST', `/v2/checkout/orders/${o4.body.id}/capture`, {}, { Prefer: 'return=representation' });
  const o5 = await call('POST', '/v2/checkout/orders', order('CAPTURE', '5.00', 'EUR', 5), { 'PayPal-Request-Id': 'c-5' });
  await approve(o5.body.id, 'pending_capture');
  const p5 = await call('POST', `/v2/checkout/orders/${o5.body.id}/capture`, {}, { Prefer: 'return=representation' });
  assert.equal(p5.body.purchase_units[0].payments.captures[0].status, 'PENDING');

  // Errors.
  await call('POST', '/v2/checkout/orders', { purchase_units: [] }, {}, true);
  await call('POST', '/v2/checkout/orders', order('CAPTURE', '1.001'), { 'PayPal-Request-Id': 'c-bad' }, true);
  await call('GET', '/v2/checkout/orders/NOSUCHORDER000001');
  await call('GET', '/v2/payments/authorizations/NOSUCHAUTH0000001');

  // Every webhook: the event schema, the offline check, verify-webhook-signature.
  await waitFor(() => deliveries.some((d) => JSON.parse(d.body).event_type === 'PAYMENT.CAPTURE.COMPLETED' &&
                                              JSON.parse(d.body).resource.id === p5.body.purchase_units[0].payments.captures[0].id));
  const types = new Set(deliveries.map((d) => JSON.parse(d.body).event_type));
  for (const t of ['CHECKOUT.ORDER.APPROVED', 'PAYMENT.CAPTURE.COMPLETED', 'PAYMENT.CAPTURE.REFUNDED',
                   'PAYMENT.AUTHORIZATION.CREATED', 'PAYMENT.AUTHORIZATION.VOIDED', 'PAYMENT.CAPTURE.DECLINED',
                   'PAYMENT.CAPTURE.PENDING'])
    assert.ok(types.has(t), `no ${t} delivered`);
  const certs = new Map();
  for (const d of deliveries) {
    assert.deepEqual(api.checkEvent(d.body), []);
    const event = JSON.parse(d.body);
    if (event.resource_type !== 'checkout-order') {
      assert.equal(event.resource.supplementary_data.related_ids.order_id !== undefined, true, d.body);
      assert.ok(event.resource.custom_id && event.resource.custom_id.startsWith('pi_contract_'), d.body);
    }
    const url = d.headers['paypal-cert-url'];
    assert.ok(url.startsWith(`${base}/paypal/v1/notifications/certs/CERT-`), url);
    if (!certs.has(url)) certs.set(url, await (await fetch(url)).text());
    assert.equal(verifyDelivery(d.headers, d.body, WEBHOOK_ID, certs.get(url)), true, `${event.event_type} does not verify`);
    assert.equal(verifyDelivery(d.headers, d.body.replace('"summary":"', '"summary":"x'), WEBHOOK_ID, certs.get(url)), false);
  }
  const d0 = deliveries[0];
  const verify = (event) => `{"auth_algo":"SHA256withRSA","cert_url":${JSON.stringify(d0.headers['paypal-cert-url'])},` +
    `"transmission_id":"${d0.headers['paypal-transmission-id']}","transmission_sig":"${d0.headers['paypal-transmission-sig']}",` +
    `"transmission_time":"${d0.headers['paypal-transmission-time']}","webhook_id":"${WEBHOOK_ID}","webhook_event":${event}}`;
  assert.equal((await call('POST', '/v1/notifications/verify-webhook-signature', verify(d0.body))).body.verification_status, 'SUCCESS');
  assert.equal((await call('POST', '/v1/notifications/verify-webhook-signature',
                           verify(d0.body.replace('"summary":"', '"summary":"x')))).body.verification_status, 'FAILURE');
  await call('GET', `/v1/notifications/webhooks-events/${JSON.parse(d0.body).id}`);

  // Every answer against its documented response.
  const problems = [];
  for (const a of answers) problems.push(...api.checkAnswer(a.method, a.path.replace(/\?.*/, ''), a.status, a.text));
  assert.deepEqual(problems, []);
  assert.ok(answers.length >= 30, `only ${answers.length} answers`);

  // Every recorded request against its request schema (the intentionally invalid ones aside).
  const recorded = await (await fetch(`${base}/paypal/_sandbox/requests`, { headers: { Authorization: BASIC } })).json();
  let checked = 0;
  const requestProblems = [];
  for (const r of recorded.requests) {
    assert.equal(r.headers.authorization, undefined, 'credentials were recorded');
    if (r.method !== 'POST' || !r.path.startsWith('/paypal/v') || r.path === '/paypal/v1/oauth2/token') continue;
    if (r.headers['x-contract-invalid']) continue;
    requestProblems.push(...api.checkRequest(r.method, r.path.slice('/paypal'.length), r.body));
    checked += 1;
  }
  assert.deepEqual(requestProblems, []);
  assert.ok(checked >= 15, `only ${checked} requests checked`);
});
