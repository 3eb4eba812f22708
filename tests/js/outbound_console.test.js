// The inspector console's outbound webhooks page in a real browser (Debian's
// Chromium through playwright-core) against the real engine, sandbox PSP and
// PostgreSQL: a merchant registers an endpoint whose receiver is down, a paid
// intent's deliveries fail and are dead-lettered; the page shows the endpoint,
// the dead-lettered deliveries and the failed attempts (and never a secret);
// the receiver comes up, the operator replays the captured event's delivery
// from the page, and the page shows it delivered; the receiver verifies it
// with the Standard Webhooks library; the replay left an audit row.
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL, INSPECTOR_SCREENSHOT_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const { chromium } = require('playwright-core');
const { Webhook } = require('standardwebhooks');
const { startStack, freePort, until, WAIT_MS } = require('./engine_harness');

const ADMIN_TOKEN = 'adm_' + crypto.randomBytes(24).toString('hex');
const shots = process.env.INSPECTOR_SCREENSHOT_DIR ||
              fs.mkdtempSync(path.join(os.tmpdir(), 'inspector-shots-'));

let stack = null;
let browser = null;
let receiver = null;

/** A receiver on a fixed port that can be down (nothing listening) or up. */
function makeReceiver(port) {
  const r = { port, deliveries: [], server: null };
  r.up = () => new Promise((resolve) => {
    r.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        r.deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      });
    });
    r.server.listen(port, '127.0.0.1', resolve);
  });
  r.close = () => new Promise((resolve) => (r.server ? r.server.close(() => resolve())
                                                     : resolve()));
  return r;
}

async function admin(method, urlPath, token = ADMIN_TOKEN) {
  const res = await fetch(stack.url + urlPath, {
    method, headers: { Authorization: `Bearer ${token}` },
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

before(async () => {
  stack = await startStack({
    prefix: 'obconsole', merchants: ['shop'],
    // Failures retry fast and are dead-lettered after a second, so the test
    // sees the dead letter without waiting three days.
    engineArgs: ['--outbound-backoff-base-ms', '100', '--outbound-backoff-ceiling-ms', '300',
                 '--outbound-timeout-ms', '800', '--outbound-poll-ms', '100',
                 '--outbound-retry-window-s', '1'],
    engineEnv: { PAYMENTS_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (receiver) await receiver.close();
  if (stack) await stack.stop();
});

test('the outbound page shows a failing receiver, replays its dead letter and shows it delivered',
     async () => {
  // ---- a receiver that is down, registered through the API -------------------------
  receiver = makeReceiver(await freePort());
  const created = await stack.api('shop', 'POST', '/v1/webhook_endpoints', {
    url: `http://127.0.0.1:${receiver.port}/hooks?token=receiver-credential`,
    enabled_events: ['payment_intent.authorized', 'payment_intent.captured'],
  });
  assert.equal(created.status, 200, created.text);
  const endpoint = created.json;
  assert.match(endpoint.secret, /^whsec_/);

  const pi = (await stack.api('shop', 'POST', '/v1/payment_intents',
                              { amount: 4200, currency: 'eur' })).json;
  assert.equal((await stack.pay(pi.psp_reference)).status, 200);
  await until('the intent captured', async () =>
    (await stack.api('shop', 'GET', `/v1/payment_intents/${pi.id}`)).json.status === 'captured');
  const captured = await until('the captured event', async () => {
    const list = (await stack.api('shop', 'GET', '/v1/events?type=payment_intent.captured')).json;
    return list.data.find((e) => e.data.object.id === pi.id);
  });

  // The admin view needs the admin token.
  assert.equal((await admin('GET', '/v1/admin/webhook_endpoints', 'adm_wrong')).status, 401);
  assert.equal((await stack.api('shop', 'GET', '/v1/admin/webhook_endpoints')).status, 401);

  // ---- the console: log in, open the outbound page ---------------------------------
  const problems = [];
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  // The console logs every refused resource as an error; those are checked
  // by URL below instead (Chromium asks for /favicon.ico, which the engine
  // answers 401 like every unknown path without a key).
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      problems.push('console: ' + m.text());
  });
  const answers = [];
  page.on('response', async (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico')
      problems.push(`${r.status()} for ${r.url()}`);
    if (r.url().includes('/v1/admin/')) answers.push(await r.text().catch(() => ''));
  });
  await page.goto(stack.url + '/inspector');
  await page.locator('#token').fill(ADMIN_TOKEN);
  await page.locator('#login button').click();
  await page.locator('#actors-table').waitFor();
  await page.locator('#nav a[data-view="outbound"]').click();
  const section = page.locator(`section.endpoint[data-endpoint="${endpoint.id}"]`);
  await section.waitFor();
  assert.match(await section.innerText(), /enabled/);

  // Both deliveries fail (nothing listens), then are dead-lettered.
  await page.waitForFunction((id) => {
    const n = document.getElementById('dead-' + id);
    return n && Number(n.textContent) === 2;
  }, endpoint.id, { timeout: WAIT_MS });
  const dead = section.locator(`#undelivered-${endpoint.id} tr[data-state="dead"]`);
  assert.equal(await dead.count(), 2);
  const deadRow = section.locator(`#undelivered-${endpoint.id} tr[data-state="dead"]`,
                                  { hasText: captured.id });
  const deliveryId = await deadRow.getAttribute('data-delivery');
  assert.match(deliveryId, /^\d+$/);
  const failedAttempts = await section.locator(`#attempts-${endpoint.id} tbody`).innerText();
  assert.match(failedAttempts, /no answer/);
  assert.match(failedAttempts, /Connection refused/);
  // Each attempt once, though a delivery stands in two lists.
  const attemptKeys = await section.locator(`#attempts-${endpoint.id} tbody tr`).evaluateAll(
    (rows) => rows.map((r) => r.cells[1].textContent + '/' + r.cells[3].textContent));
  assert.ok(attemptKeys.length >= 2);
  assert.equal(new Set(attemptKeys).size, attemptKeys.length, attemptKeys.join(' '));
  assert.match(await deadRow.innerText(), /dead/);
  assert.notEqual(await section.locator(`#dead-${endpoint.id}`).innerText(), '0');
  await page.screenshot({ path: path.join(shots, 'inspector-outbound-dead.png'), fullPage: true });

  // ---- the receiver comes up; the operator replays from the page ----------------------
  await receiver.up();
  await deadRow.locator('button.replay-delivery').click();
  await page.locator('#status').filter({ hasText: `delivery ${deliveryId} replayed` }).waitFor();
  const deliveredRow = section.locator(
    `#recent-${endpoint.id} tr[data-delivery="${deliveryId}"][data-state="delivered"]`);
  await deliveredRow.waitFor();
  assert.match(await deliveredRow.innerText(), /200/);
  // Only the replayed one left the dead letters.
  await page.waitForFunction((id) => {
    const n = document.getElementById('dead-' + id);
    return n && Number(n.textContent) === 1;
  }, endpoint.id, { timeout: WAIT_MS });
  await page.screenshot({ path: path.join(shots, 'inspector-outbound-replayed.png'),
                          fullPage: true });

  // The receiver got the captured event once, signed: the official library verifies it.
  assert.equal(receiver.deliveries.length, 1);
  const d = receiver.deliveries[0];
  const body = new Webhook(endpoint.secret).verify(d.body, {
    'webhook-id': d.headers['webhook-id'],
    'webhook-timestamp': d.headers['webhook-timestamp'],
    'webhook-signature': d.headers['webhook-signature'],
  });
  assert.equal(body.id, captured.id);
  assert.equal(body.type, 'payment_intent.captured');
  assert.equal(d.headers['webhook-id'], captured.id);

  // ---- audited, and refused where it makes no sense ------------------------------------
  const audit = stack.db.query(
    "SELECT actor || '|' || action || '|' || from_status || '|' || to_status || '|' || " +
    "(data->>'delivery_id') || '|' || (data->>'event_id') FROM audit_events " +
    "WHERE action = 'webhook_delivery_replay'");
  assert.equal(audit, `admin|webhook_delivery_replay|dead|pending|${deliveryId}|${captured.id}`);
  const again = await admin('POST', `/v1/admin/webhook_deliveries/${deliveryId}/replay`);
  assert.equal(again.status, 400);
  assert.equal(again.json.error.code, 'invalid_state');
  assert.equal((await admin('POST', '/v1/admin/webhook_deliveries/999999/replay')).status, 404);
  assert.equal((await admin('POST', '/v1/admin/webhook_deliveries/x/replay')).status, 404);
  assert.equal((await stack.api('shop', 'POST',
                                `/v1/admin/webhook_deliveries/${deliveryId}/replay`)).status, 401);

  // ---- no secret ever reached the page ------------------------------------------------
  const html = await page.content();
  for (const text of [html, ...answers]) {
    assert.ok(!text.includes('whsec_'), 'a signing secret reached the console');
    assert.ok(!text.includes('receiver-credential'), "the URL's query reached the console");
    assert.ok(!text.includes(pi.client_secret), "an intent's client secret reached the console");
  }
  assert.deepEqual(problems, []);
  await context.close();
});
