// The PayPal mode with PayPal's official Node SDK (@paypal/paypal-server-sdk,
// pinned in package.json): client credentials, an order created with an
// experience context, approved through the sandbox's test control, captured
// and refunded in part, the order read back, Transaction Search; an
// authorization captured in part; a refused capture surfaces as the SDK's
// error. The SDK only knows PayPal's https hosts, so its axios adapter is
// pointed at the sandbox by rewriting each request's URL (nothing else of
// the SDK is touched).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const axios = require('axios');
const paypal = require('@paypal/paypal-server-sdk');

const { startSandbox } = require('./sandbox_helpers');

const CLIENT_ID = 'AbNodeSdkClientId000000000000000000000001';
const CLIENT_SECRET = 'EbNodeSdkClientSecret0000000000000000001';

let sandbox;
let base;
let client;

before(async () => {
  sandbox = await startSandbox(['--paypal-client-id', CLIENT_ID, '--paypal-client-secret', CLIENT_SECRET,
                                '--seed', '15']);
  base = `http://127.0.0.1:${sandbox.port}`;
  const httpAdapter = axios.getAdapter('http');
  client = new paypal.Client({
    clientCredentialsAuthCredentials: { oAuthClientId: CLIENT_ID, oAuthClientSecret: CLIENT_SECRET },
    environment: paypal.Environment.Sandbox,
    timeout: 10000,
    unstable_httpClientOptions: {
      adapter: (config) => {
        config.url = config.url.replace('https://api-m.sandbox.paypal.com', `${base}/paypal`);
        return httpAdapter(config);
      },
    },
  });
});

after(async () => {
  if (sandbox) assert.equal(await sandbox.stop(), 0);
});

async function approve(orderId, funding = 'balance') {
  const auth = 'Basic ' + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
  const res = await fetch(`${base}/paypal/_sandbox/orders/${orderId}/approve`, {
    method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ funding }),
  });
  assert.equal(res.status, 200);
}

function orderBody(intent, value, customId) {
  return {
    intent,
    purchaseUnits: [{ customId, invoiceId: `inv-${customId}`, amount: { currencyCode: 'EUR', value } }],
    paymentSource: { paypal: { experienceContext: {
      returnUrl: 'https://shop.example/return', cancelUrl: 'https://shop.example/cancel', userAction: 'PAY_NOW',
    } } },
  };
}

test('an order runs through the official SDK: create, approve, capture, partial refund, read back, search', async () => {
  const orders = new paypal.OrdersController(client);
  const payments = new paypal.PaymentsController(client);
  const created = await orders.createOrder({
    body: orderBody('CAPTURE', '42.50', 'pi_sdk_1'), paypalRequestId: 'sdk-create-1', prefer: 'return=representation',
  });
  assert.equal(created.statusCode, 201);
  assert.equal(created.result.status, 'PAYER_ACTION_REQUIRED');
  const orderId = created.result.id;
  assert.ok(created.result.links.some((l) => l.rel === 'payer-action' && l.href.includes(`token=${orderId}`)));
  // The same request id again: PayPal's stored answer, now 200.
  const replay = await orders.createOrder({
    body: orderBody('CAPTURE', '42.50', 'pi_sdk_1'), paypalRequestId: 'sdk-create-1', prefer: 'return=representation',
  });
  assert.equal(replay.statusCode, 200);
  assert.equal(replay.result.id, orderId);

  await approve(orderId);
  const captured = await orders.captureOrder({ id: orderId, paypalRequestId: 'sdk-capture-1', prefer: 'return=representation' });
  assert.equal(captured.statusCode, 201);
  assert.equal(captured.result.status, 'COMPLETED');
  const capture = captured.result.purchaseUnits[0].payments.captures[0];
  assert.equal(capture.status, 'COMPLETED');
  assert.equal(capture.amount.value, '42.50');
  // 3.49 % of 42.50 = 1.48325 -> 1.48, plus 0.49.
  assert.equal(capture.sellerReceivableBreakdown.paypalFee.value, '1.97');
  assert.equal(capture.sellerReceivableBreakdown.netAmount.value, '40.53');

  const refund = await payments.refundCapturedPayment({
    captureId: capture.id, paypalRequestId: 'sdk-refund-1', prefer: 'return=representation',
    body: { amount: { currencyCode: 'EUR', value: '12.50' }, noteToPayer: 'partial' },
  });
  assert.equal(refund.statusCode, 201);
  assert.equal(refund.result.status, 'COMPLETED');
  assert.equal(refund.result.amount.value, '12.50');
  const again = await payments.getCapturedPayment({ captureId: capture.id });
  assert.equal(again.result.status, 'PARTIALLY_REFUNDED');
  const gotRefund = await payments.getRefund({ refundId: refund.result.id });
  assert.equal(gotRefund.result.amount.value, '12.50');

  const read = await orders.getOrder({ id: orderId });
  assert.equal(read.result.status, 'COMPLETED');
  assert.equal(read.result.purchaseUnits[0].customId, 'pi_sdk_1');
  assert.equal(read.result.purchaseUnits[0].payments.refunds.length, 1);

  const search = new paypal.TransactionSearchController(client);
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const rows = await search.searchTransactions({ startDate: iso(now - 86400000), endDate: iso(now + 3600000) });
  const infos = rows.result.transactionDetails.map((d) => d.transactionInfo);
  const mine = infos.filter((i) => i.paypalReferenceId === orderId);
  assert.deepEqual(mine.map((i) => i.transactionEventCode).sort(), ['T0006', 'T1107']);
  assert.ok(mine.every((i) => i.customField === 'pi_sdk_1'));
});

test('an authorization is captured in part and the rest voided with the SDK; refusals are the SDK\'s errors', async () => {
  const orders = new paypal.OrdersController(client);
  const payments = new paypal.PaymentsController(client);
  const created = await orders.createOrder({ body: orderBody('AUTHORIZE', '20.00', 'pi_sdk_2'), paypalRequestId: 'sdk-create-2' });
  await assert.rejects(orders.authorizeOrder({ id: created.result.id }),
                       (e) => e.statusCode === 422 && JSON.stringify(e.result).includes('ORDER_NOT_APPROVED'));
  await approve(created.result.id);
  const authorized = await orders.authorizeOrder({ id: created.result.id, prefer: 'return=representation' });
  const authorization = authorized.result.purchaseUnits[0].payments.authorizations[0];
  assert.equal(authorization.status, 'CREATED');
  const part = await payments.captureAuthorizedPayment({
    authorizationId: authorization.id, prefer: 'return=representation',
    body: { amount: { currencyCode: 'EUR', value: '7.00' }, finalCapture: false },
  });
  assert.equal(part.result.status, 'COMPLETED');
  assert.equal(part.result.amount.value, '7.00');
  await assert.rejects(payments.captureAuthorizedPayment({
    authorizationId: authorization.id, body: { amount: { currencyCode: 'EUR', value: '13.01' } },
  }), (e) => e.statusCode === 422 && JSON.stringify(e.result).includes('MAX_CAPTURE_AMOUNT_EXCEEDED'));
  const voided = await payments.voidPayment({ authorizationId: authorization.id });
  assert.equal(voided.statusCode, 204);
  const after = await payments.getAuthorizedPayment({ authorizationId: authorization.id });
  assert.equal(after.result.status, 'VOIDED');
});
