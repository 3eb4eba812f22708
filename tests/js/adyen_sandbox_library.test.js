// The sandbox's Adyen mode driven by Adyen's official Node library
// (@adyen/api-library, pinned in package.json): a session, the payment the
// card component makes (its client endpoint, with Adyen's test_ card values),
// a payment through /payments with 3-D Secure 2, capture and refund through
// the library's ModificationsApi; every notification the sandbox sends (to
// a small HTTP server here) passes the library's HmacValidator, as do the
// worked examples of tests/data/adyen/webhook-test-vectors.json.
//
// The library speaks only https (its HTTP client always uses node's https
// module), so the test puts a small TLS-terminating proxy in front of the
// sandbox, with a throw-away self-signed certificate that the library is
// told to trust through its own `certificatePath` setting (whose identity
// check wants a *.test.terminal.adyen.com common name).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const { Client, CheckoutAPI, hmacValidator: HmacValidator } = require('@adyen/api-library');
const { startSandbox, waitFor } = require('./sandbox_helpers');

const API_KEY = 'AQE' + crypto.randomBytes(16).toString('hex');
const CLIENT_KEY = 'test_' + crypto.randomBytes(12).toString('hex').toUpperCase();
const HMAC_KEY = crypto.randomBytes(32).toString('hex').toUpperCase();
const MERCHANT = 'LibraryTestECOM';
const VECTORS = JSON.parse(fs.readFileSync(
  path.join(__dirname, '..', 'data', 'adyen', 'webhook-test-vectors.json'), 'utf8'));

let sandbox;
let base;
let receiver;
let tls;  // { server, base, certFile, dir }
const batches = [];  // every notification body the receiver accepted

function items() {
  return batches.flatMap((b) => b.notificationItems.map((w) => w.NotificationRequestItem));
}

function waitItem(eventCode, reference) {
  return waitFor(() => items().find((i) => i.eventCode === eventCode &&
    (i.pspReference === reference || i.originalReference === reference)), 15000);
}

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      batches.push(JSON.parse(body));
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('[accepted]');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  sandbox = await startSandbox([
    '--adyen-api-key', API_KEY, '--adyen-client-key', CLIENT_KEY, '--adyen-hmac-key', HMAC_KEY,
    '--adyen-merchant-account', MERCHANT, '--adyen-modification-delay-ms', '50',
    '--adyen-webhook-url', `http://127.0.0.1:${receiver.address().port}/webhooks/adyen`,
    '--seed', '11']);
  base = `http://127.0.0.1:${sandbox.port}`;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adyen-lib-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile,
                           '-out', certFile, '-days', '1', '-subj',
                           '/CN=sandbox-proxy.test.terminal.adyen.com'], { stdio: 'ignore' });
  const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) },
                                    (req, res) => {
    const upstream = http.request({ host: '127.0.0.1', port: sandbox.port, method: req.method,
                                    path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => { res.writeHead(502); res.end(String(err)); });
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  tls = { server, base: `https://127.0.0.1:${server.address().port}`, certFile, dir };
});

after(async () => {
  if (sandbox) assert.equal(await sandbox.stop(), 0);
  if (receiver) await new Promise((resolve) => receiver.close(resolve));
  if (tls) {
    tls.server.closeAllConnections();
    await new Promise((resolve) => tls.server.close(resolve));
    fs.rmSync(tls.dir, { recursive: true, force: true });
  }
});

/**
 * The library's Checkout services, pointed at the sandbox's checkout base URL
 * (CheckoutAPI's getters make a new service each time, so each is kept).
 */
function checkoutApi() {
  const client = new Client({ apiKey: API_KEY, environment: 'TEST', certificatePath: tls.certFile });
  const checkout = new CheckoutAPI(client);
  const adyenBase = `${tls.base}/adyen/checkout/v71`;
  const services = { PaymentsApi: checkout.PaymentsApi, ModificationsApi: checkout.ModificationsApi };
  services.PaymentsApi.baseUrl = adyenBase;
  services.ModificationsApi.baseUrl = adyenBase;
  return services;
}

async function componentPost(sessionId, operation, body) {
  const res = await fetch(`${base}/adyen/checkoutshopper/v1/sessions/${sessionId}/${operation}` +
                          `?clientKey=${CLIENT_KEY}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return res.json();
}

const CARD = {
  type: 'scheme',
  encryptedCardNumber: 'test_4111111145551142',
  encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030',
  encryptedSecurityCode: 'test_737',
};

test('the library validates the worked examples of the vectors file', () => {
  const validator = new HmacValidator();
  for (const v of VECTORS.vectors) {
    assert.equal(validator.calculateHmac(v.item, VECTORS.hmac_key_hex), v.hmacSignature);
    assert.ok(validator.validateHMAC(v.item, VECTORS.hmac_key_hex));
  }
  for (const wrapper of VECTORS.example_request_body.notificationItems) {
    assert.ok(validator.validateHMAC(wrapper.NotificationRequestItem, VECTORS.hmac_key_hex));
  }
});

test('a full flow through @adyen/api-library: session, payment, capture, refund', async () => {
  const checkout = checkoutApi();
  const reference = 'lib-order-' + Date.now();
  const session = await checkout.PaymentsApi.sessions({
    amount: { currency: 'EUR', value: 4599 },
    reference,
    returnUrl: 'https://shop.example/return',
    merchantAccount: MERCHANT,
    countryCode: 'NL',
    additionalData: { manualCapture: 'true' },
  }, { idempotencyKey: crypto.randomUUID() });
  assert.match(session.id, /^CS/);
  assert.ok(session.sessionData);
  assert.ok(session.expiresAt instanceof Date || typeof session.expiresAt === 'string');
  assert.equal(session.amount.value, 4599);

  // What the card component sends from its iframe: client key + sessionData.
  const paid = await componentPost(session.id, 'payments',
                                   { sessionData: session.sessionData, paymentMethod: CARD });
  assert.equal(paid.resultCode, 'Authorised');
  const result = await checkout.PaymentsApi.getResultOfPaymentSession(session.id, paid.sessionResult);
  assert.equal(result.status, 'completed');
  assert.equal(result.reference, reference);
  const psp = result.payments[0].pspReference;
  assert.equal(psp.length, 16);

  const auth = await waitItem('AUTHORISATION', psp);
  assert.equal(auth.success, 'true');
  assert.equal(auth.merchantReference, reference);

  const capture = await checkout.ModificationsApi.captureAuthorisedPayment(psp, {
    merchantAccount: MERCHANT, amount: { currency: 'EUR', value: 4599 }, reference: 'cap-' + reference,
  }, { idempotencyKey: crypto.randomUUID() });
  assert.equal(capture.status, 'received');
  assert.equal(capture.paymentPspReference, psp);
  const captured = await waitItem('CAPTURE', psp);
  assert.equal(captured.pspReference, capture.pspReference);
  assert.equal(captured.originalReference, psp);
  assert.equal(captured.success, 'true');

  const refund = await checkout.ModificationsApi.refundCapturedPayment(psp, {
    merchantAccount: MERCHANT, amount: { currency: 'EUR', value: 1000 }, reference: 'ref-' + reference,
  }, { idempotencyKey: crypto.randomUUID() });
  assert.equal(refund.status, 'received');
  const refunded = await waitItem('REFUND', psp);
  assert.equal(refunded.pspReference, refund.pspReference);
  assert.equal(refunded.merchantReference, 'ref-' + reference);

  // An over-refund is refused by the API, which the library raises.
  await assert.rejects(checkout.ModificationsApi.refundCapturedPayment(psp, {
    merchantAccount: MERCHANT, amount: { currency: 'EUR', value: 4000 }, reference: 'too-much',
  }), (err) => err.statusCode === 422);

  const validator = new HmacValidator();
  for (const item of items()) assert.ok(validator.validateHMAC(item, HMAC_KEY), item.eventCode);
  // A tampered item or another key fails.
  const tampered = { ...captured, amount: { ...captured.amount, value: captured.amount.value + 1 } };
  assert.equal(validator.validateHMAC(tampered, HMAC_KEY), false);
  assert.equal(validator.validateHMAC(captured, VECTORS.hmac_key_hex), false);
});

test('/payments with 3-D Secure 2 and /payments/details through the library', async () => {
  const checkout = checkoutApi();
  const methods = await checkout.PaymentsApi.paymentMethods({ merchantAccount: MERCHANT });
  assert.equal(methods.paymentMethods[0].type, 'scheme');
  const challenge = await checkout.PaymentsApi.payments({
    amount: { currency: 'USD', value: 1500 },
    reference: 'lib-3ds',
    returnUrl: 'https://shop.example/return',
    merchantAccount: MERCHANT,
    paymentMethod: { ...CARD, encryptedCardNumber: 'test_5454545454545454' },
    additionalData: { manualCapture: 'true' },
  });
  assert.equal(challenge.resultCode, 'ChallengeShopper');
  assert.equal(challenge.action.type, 'threeDS2');
  const answer = await (await fetch(`${base}/adyen/threeds2/challenge`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: challenge.action.token, password: 'password' }) })).json();
  const done = await checkout.PaymentsApi.paymentsDetails({
    details: { threeDSResult: answer.threeDSResult } });
  assert.equal(done.resultCode, 'Authorised');
  assert.equal(done.amount.currency, 'USD');
  // The same threeDSResult again: already processed.
  await assert.rejects(checkout.PaymentsApi.paymentsDetails({
    details: { threeDSResult: answer.threeDSResult } }), (err) => err.statusCode === 422);
  const cancel = await checkout.ModificationsApi.cancelAuthorisedPaymentByPspReference(
    done.pspReference, { merchantAccount: MERCHANT, reference: 'cx-3ds' });
  assert.equal(cancel.status, 'received');
  const canceled = await waitItem('CANCELLATION', done.pspReference);
  assert.equal(canceled.success, 'true');
  assert.ok(new HmacValidator().validateHMAC(canceled, HMAC_KEY));
});

test('a settlement report is announced by REPORT_AVAILABLE and downloadable', async () => {
  const res = await fetch(`${base}/adyen/_sandbox/settle`, {
    method: 'POST', headers: { 'X-API-Key': API_KEY } });
  assert.equal(res.status, 200);
  const { file, url } = await res.json();
  const item = await waitItem('REPORT_AVAILABLE', file);
  assert.equal(item.reason, url);
  assert.ok(new HmacValidator().validateHMAC(item, HMAC_KEY));
  const csv = await (await fetch(url, { headers: { 'X-API-Key': API_KEY } })).text();
  assert.match(csv.split('\n')[0], /^Company Account,Merchant Account,Psp Reference,/);
  assert.match(csv, /,Settled,/);
  assert.match(csv, /,Refunded,/);
  assert.match(csv, /,MerchantPayout,/);
});
