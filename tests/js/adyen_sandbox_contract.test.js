// The Adyen mode against Adyen's own schemas (tests/data/adyen/
// openapi-subset.json, Checkout API v71 + standard webhooks): every answer
// of a varied run (sessions, payments, 3-D Secure details, modifications,
// declines and errors) validates against its documented response schema;
// every notification item validates against its event's webhook schema;
// and every request the sandbox recorded (GET /adyen/_sandbox/requests, the
// same lines as --record-requests) validates against its request schema,
// which is how a test checks what a client (the engine) sends.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const { OpenApi } = require('./openapi_tools');
const { startSandbox, waitFor } = require('./sandbox_helpers');

const DOC = JSON.parse(fs.readFileSync(
  path.join(__dirname, '..', 'data', 'adyen', 'openapi-subset.json'), 'utf8'));
const PREFIX = '/adyen/checkout/v71';
const API_KEY = 'AQE' + crypto.randomBytes(16).toString('hex');
const CLIENT_KEY = 'test_' + crypto.randomBytes(12).toString('hex').toUpperCase();
const MERCHANT = 'ContractTestECOM';

let sandbox;
let base;
let receiver;
let api;
const batches = [];
const answers = [];  // { method, path, status, headers, text }

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { batches.push(JSON.parse(body)); res.end('[accepted]'); });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  sandbox = await startSandbox([
    '--adyen-api-key', API_KEY, '--adyen-client-key', CLIENT_KEY, '--adyen-merchant-account', MERCHANT,
    '--adyen-modification-delay-ms', '30',
    '--adyen-webhook-url', `http://127.0.0.1:${receiver.address().port}/`, '--seed', '9']);
  base = `http://127.0.0.1:${sandbox.port}`;
  api = new OpenApi(DOC);
  // The document's formats (int32, date-time, ...) are not checked; say nothing about them.
  api.ajv.logger = { log() {}, warn() {}, error: console.error };
});

after(async () => {
  if (sandbox) assert.equal(await sandbox.stop(), 0);
  if (receiver) await new Promise((resolve) => receiver.close(resolve));
});

async function call(method, p, body, headers = {}) {
  const res = await fetch(base + PREFIX + p, {
    method,
    headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  answers.push({ method, path: p, status: res.status, headers: res.headers, text });
  return { status: res.status, json: JSON.parse(text) };
}

const CARD = {
  type: 'scheme', encryptedCardNumber: 'test_4111111145551142', encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030', encryptedSecurityCode: 'test_737',
};

function paymentBody(reference, extra = {}) {
  return { amount: { currency: 'EUR', value: 1250 }, reference, returnUrl: 'https://shop.example/r',
           merchantAccount: MERCHANT, paymentMethod: CARD,
           additionalData: { manualCapture: 'true' }, ...extra };
}

test('a varied run: every answer matches its documented schema', async () => {
  const session = await call('POST', '/sessions', {
    amount: { currency: 'JPY', value: 1500 }, reference: 'contract-s', returnUrl: 'https://shop.example/r',
    merchantAccount: MERCHANT, countryCode: 'JP', shopperLocale: 'ja-JP' },
  { 'Idempotency-Key': crypto.randomUUID() });
  assert.equal(session.status, 201);
  const paid = await (await fetch(`${base}/adyen/checkoutshopper/v1/sessions/${session.json.id}/payments` +
                                  `?clientKey=${CLIENT_KEY}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sessionData: session.json.sessionData, paymentMethod: CARD }) })).json();
  assert.equal((await call('GET', `/sessions/${session.json.id}?sessionResult=` +
                           encodeURIComponent(paid.sessionResult))).json.status, 'completed');

  await call('POST', '/paymentMethods', { merchantAccount: MERCHANT, countryCode: 'NL' });
  const ok = await call('POST', '/payments', paymentBody('contract-1'), { 'Idempotency-Key': crypto.randomUUID() });
  assert.equal(ok.json.resultCode, 'Authorised');
  const refused = await call('POST', '/payments', paymentBody('contract-2', {
    paymentMethod: { ...CARD, holderName: 'DECLINED' } }));
  assert.equal(refused.json.resultCode, 'Refused');
  const three = await call('POST', '/payments', paymentBody('contract-3', {
    paymentMethod: { ...CARD, encryptedCardNumber: 'test_5454545454545454' } }));
  assert.equal(three.json.resultCode, 'ChallengeShopper');
  const challenge = await (await fetch(`${base}/adyen/threeds2/challenge`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: three.json.action.token, password: 'password' }) })).json();
  assert.equal((await call('POST', '/payments/details',
                           { details: { threeDSResult: challenge.threeDSResult } })).json.resultCode,
               'Authorised');

  const psp = ok.json.pspReference;
  const amount = { currency: 'EUR', value: 1250 };
  assert.equal((await call('POST', `/payments/${psp}/captures`,
                           { merchantAccount: MERCHANT, amount, reference: 'cap' })).status, 201);
  assert.equal((await call('POST', `/payments/${psp}/refunds`,
                           { merchantAccount: MERCHANT, amount: { currency: 'EUR', value: 250 },
                             reference: 'ref', merchantRefundReason: 'CUSTOMER REQUEST' })).status, 201);
  assert.equal((await call('POST', `/payments/${psp}/reversals`,
                           { merchantAccount: MERCHANT, reference: 'rev' })).status, 201);
  assert.equal((await call('POST', `/payments/${three.json.pspReference}/cancels`,
                           { merchantAccount: MERCHANT, reference: 'cx' })).status, 201);

  // Errors documented for these operations.
  assert.equal((await call('POST', '/payments', paymentBody('e', { colour: 'red' }))).status, 400);
  assert.equal((await call('POST', '/payments', paymentBody('e'), { 'X-API-Key': 'AQEwrong' })).status, 401);
  assert.equal((await call('POST', '/payments', paymentBody('e', { merchantAccount: 'Other' }))).status, 403);
  assert.equal((await call('POST', `/payments/${psp}/captures`,
                           { merchantAccount: MERCHANT, amount: { currency: 'EUR', value: 99999 } })).status,
               422);

  const problems = [];
  for (const a of answers) {
    // /sessions documents only its success; its errors are plain ServiceErrors.
    if (a.path.startsWith('/sessions') && a.status >= 400) continue;
    problems.push(...api.check(a.method, a.path, a.status, a.headers, a.text));
  }
  assert.deepEqual(problems, []);
  assert.ok(answers.length >= 14);
});

test('every notification item matches its event\'s webhook schema', async () => {
  const automatic = { additionalData: {} };
  await call('POST', '/payments', paymentBody('cf', { ...automatic,
    paymentMethod: { ...CARD, holderName: 'capture failed' } }));
  const rf = await call('POST', '/payments', paymentBody('rf', { ...automatic,
    paymentMethod: { ...CARD, holderName: 'refund failed' } }));
  await call('POST', `/payments/${rf.json.pspReference}/refunds`,
             { merchantAccount: MERCHANT, amount: { currency: 'EUR', value: 100 }, reference: 'rf-1' });
  await new Promise((r) => setTimeout(r, 300));
  const settled = await fetch(`${base}/adyen/_sandbox/settle`, {
    method: 'POST', headers: { 'X-API-Key': API_KEY } });
  assert.equal(settled.status, 200);
  const wanted = ['AUTHORISATION', 'CAPTURE', 'CAPTURE_FAILED', 'REFUND', 'REFUND_FAILED',
                  'CANCEL_OR_REFUND', 'CANCELLATION', 'REPORT_AVAILABLE'];
  await waitFor(() => {
    const codes = new Set(batches.flatMap((b) => b.notificationItems.map(
      (w) => w.NotificationRequestItem.eventCode)));
    return wanted.every((c) => codes.has(c));
  }, 15000);
  const problems = [];
  for (const batch of batches) {
    for (const wrapper of batch.notificationItems) {
      const item = wrapper.NotificationRequestItem;
      const hook = DOC.webhooks[`/${item.eventCode}`];
      assert.ok(hook, `a webhook schema for ${item.eventCode}`);
      const ptr = `#/webhooks/~1${item.eventCode}/post/requestBody/content/application~1json/schema`;
      const validate = api.ajv.compile({ $ref: `openapi.json${ptr}` });
      const one = { live: batch.live, notificationItems: [wrapper] };
      if (!validate(one)) problems.push(`${item.eventCode}: ${api.ajv.errorsText(validate.errors)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('every recorded request validates against its request schema', async () => {
  const res = await fetch(`${base}/adyen/_sandbox/requests`, { headers: { 'X-API-Key': API_KEY } });
  const { requests } = await res.json();
  assert.ok(requests.length >= 14);
  const problems = [];
  let checked = 0;
  for (const r of requests) {
    assert.equal(r.headers['x-api-key'], undefined);
    if (r.method !== 'POST') continue;
    const template = api.match(r.method, r.path.slice(PREFIX.length));
    assert.ok(template, r.path);
    const op = DOC.paths[template].post;
    const ptr = `#/paths/${template.replace(/~/g, '~0').replace(/\//g, '~1')}/post/requestBody/content/application~1json/schema`;
    const validate = api.ajv.compile({ $ref: `openapi.json${ptr}` });
    void op;
    const ok = validate(JSON.parse(r.body));
    const meantToFail = r.body.includes('colour');
    if (ok === meantToFail) problems.push(`${r.path}: ${ok ? 'accepted' : api.ajv.errorsText(validate.errors)}`);
    checked += 1;
  }
  assert.deepEqual(problems, []);
  assert.ok(checked >= 12);
});
