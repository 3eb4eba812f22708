// A merchant's shop server (Node.js 18+, no dependencies): it creates one
// payment intent at the engine per order with the secret API key, hands the
// browser only the intent's client secret, and tells the browser the order is
// paid only when the engine says so.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const ENGINE_URL = process.env.PAYMENTS_URL || 'http://127.0.0.1:8080';
const API_KEY = process.env.PAYMENTS_API_KEY; // sk_...: stays on this server
const PSP_URL = process.env.SANDBOX_URL || 'http://127.0.0.1:8090'; // the PSP's card iframe
const PUBLISHABLE_KEY = process.env.SANDBOX_PUBLISHABLE_KEY; // pk_...: public
const PSP_ORIGIN = new URL(PSP_URL).origin;

const orders = new Map(); // order id -> engine intent id (keep it in your database)

async function engine(method, urlPath, body, idempotencyKey) {
  const headers = { Authorization: `Bearer ${API_KEY}` };
  if (body) headers['Content-Type'] = 'application/json';
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const res = await fetch(ENGINE_URL + urlPath,
                          { method, headers, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error ? json.error.message : `engine answered ${res.status}`);
  return json;
}

// Frames only from the PSP, scripts only from this site, no inline script.
const SECURITY_HEADERS = {
  'Content-Security-Policy': `default-src 'none'; script-src 'self'; connect-src 'self'; ` +
    `frame-src ${PSP_ORIGIN}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, ...SECURITY_HEADERS });
  res.end(body);
}
const sendJson = (res, status, value) => send(res, status, 'application/json', JSON.stringify(value));
const sendFile = (res, name, type) =>
  send(res, 200, type, fs.readFileSync(path.join(__dirname, 'public', name)));

async function route(req, res) {
  const url = new URL(req.url, 'http://shop.invalid');
  if (req.method === 'GET' && url.pathname === '/') return sendFile(res, 'index.html', 'text/html');
  if (req.method === 'GET' && url.pathname === '/checkout.js') {
    return sendFile(res, 'checkout.js', 'text/javascript');
  }
  if (req.method === 'POST' && url.pathname === '/orders') {
    // The order id is the Idempotency-Key: a retried request never makes a
    // second intent, so the shopper is never charged twice for one order.
    const orderId = 'order_' + crypto.randomUUID();
    const intent = await engine('POST', '/v1/payment_intents', {
      amount: 1500, currency: 'eur', capture_method: 'automatic',
      description: 'Example order', metadata: { order_id: orderId },
    }, orderId);
    orders.set(orderId, intent.id);
    return sendJson(res, 200, {
      order: orderId, amount: '15.00 EUR', client_secret: intent.client_secret,
      psp_origin: PSP_ORIGIN, iframe_url: `${PSP_URL}/js/iframe.html`,
      publishable_key: PUBLISHABLE_KEY,
    });
  }
  const order = url.pathname.match(/^\/orders\/(order_[0-9a-f-]+)$/);
  if (req.method === 'GET' && order && orders.has(order[1])) {
    // Paid is what the engine says (webhooks from the PSP), never the browser.
    const intent = await engine('GET', `/v1/payment_intents/${orders.get(order[1])}`);
    return sendJson(res, 200, { status: intent.status,
                                paid: ['authorized', 'captured'].includes(intent.status) });
  }
  return sendJson(res, 404, { error: 'not found' });
}

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => sendJson(res, 502, { error: err.message }));
});
server.listen(Number(process.env.PORT || 3000), '127.0.0.1', () => {
  console.log(`shop listening on http://127.0.0.1:${server.address().port}`);
});
