// The world of the hosted-checkout browser tests, shared: a scratch database
// with one merchant (`shop`), the psp-sandbox speaking the Stripe format and,
// as asked, Adyen's and PayPal's, the engine configured with those accounts
// behind the recording proxy (engine_harness.js), and Debian's Chromium
// through playwright-core; plus the merchant's API, the ledger checks and the
// shopper's steps at each PSP's page (the sandbox's card iframe, Adyen Web's
// card component, PayPal's approval page).
//
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL, CHECKOUT_SCREENSHOT_DIR,
// CHROMIUM_BIN (default /usr/bin/chromium).
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { chromium } = require('playwright-core');
const { startProgram, makeDatabase, freePort, startProxy, required, WAIT_MS } =
  require('./engine_harness');

/**
 * Starts the world. `adyen` and `paypal` add those accounts (sandbox modes
 * and engine configuration); `name` prefixes the database, the work folder
 * and the screenshots. Answers the stack object (see the end of the function).
 */
async function startBrowserStack({ name, adyen = false, paypal = false, engineEnv = {} }) {
  const secrets = {
    sandboxSecret: 'sk_test_sbx_' + crypto.randomBytes(12).toString('hex'),
    sandboxPublishable: 'pk_test_sbx_' + crypto.randomBytes(12).toString('hex'),
    webhookSecret: 'whsec_' + crypto.randomBytes(12).toString('hex'),
    adminToken: 'adm_' + crypto.randomBytes(16).toString('hex'),
    adyen: {
      apiKey: 'AQE' + crypto.randomBytes(16).toString('hex'),
      clientKey: 'test_' + crypto.randomBytes(12).toString('hex').toUpperCase(),
      hmacKey: crypto.randomBytes(32).toString('hex').toUpperCase(),
      merchantAccount: 'BrowserShopECOM',
    },
    paypal: {
      clientId: 'Ab' + crypto.randomBytes(18).toString('hex'),
      clientSecret: 'Eb' + crypto.randomBytes(18).toString('hex'),
      webhookId: 'WH' + crypto.randomBytes(8).toString('hex').toUpperCase(),
    },
  };
  const s = { secrets, browserRequests: [] };
  s.screenshotDir = process.env.CHECKOUT_SCREENSHOT_DIR ||
                    fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-shots-'));
  s.workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-browser-`));
  s.db = makeDatabase(name.replace(/[^a-z0-9]/g, '').slice(0, 12), ['shop']);
  const enginePort = await freePort();
  s.proxy = await startProxy();
  s.proxy.upstreamPort = enginePort;
  // The proxy's URL: the only address of the engine anyone uses.
  s.engineUrl = s.proxy.url;

  const sandboxEnv = {};
  const engineExtra = {};
  if (adyen) {
    const a = secrets.adyen;
    Object.assign(sandboxEnv, {
      SANDBOX_ADYEN_API_KEY: a.apiKey, SANDBOX_ADYEN_CLIENT_KEY: a.clientKey,
      SANDBOX_ADYEN_HMAC_KEY: a.hmacKey, SANDBOX_ADYEN_MERCHANT_ACCOUNT: a.merchantAccount,
      SANDBOX_ADYEN_WEBHOOK_URL: `${s.engineUrl}/v1/webhooks/adyen`,
    });
  }
  if (paypal) {
    const p = secrets.paypal;
    Object.assign(sandboxEnv, {
      SANDBOX_PAYPAL_CLIENT_ID: p.clientId, SANDBOX_PAYPAL_CLIENT_SECRET: p.clientSecret,
      SANDBOX_PAYPAL_WEBHOOK_ID: p.webhookId,
      SANDBOX_PAYPAL_WEBHOOK_URL: `${s.engineUrl}/v1/webhooks/paypal`,
    });
  }
  // The sandbox's webhooks go to the engine, whose port is chosen now; the
  // sandbox retries until it is up.
  s.sandbox = await startProgram(s.workDir, 'psp-sandbox', required('PSP_SANDBOX_BIN'), [
    '--secret-key', secrets.sandboxSecret, '--publishable-key', secrets.sandboxPublishable,
    '--webhook-url', `${s.engineUrl}/v1/webhooks/sandbox`, '--webhook-secret', secrets.webhookSecret,
    '--webhook-backoff-base-ms', '100', '--webhook-backoff-max-ms', '500',
    ...(adyen ? ['--adyen-modification-delay-ms', '300'] : []),
  ], sandboxEnv);
  s.sandboxUrl = `http://127.0.0.1:${s.sandbox.port}`;
  if (adyen) {
    const a = secrets.adyen;
    Object.assign(engineExtra, {
      PAYMENTS_ADYEN_BASE_URL: `${s.sandboxUrl}/adyen/checkout/v71`,
      PAYMENTS_ADYEN_API_KEY: a.apiKey, PAYMENTS_ADYEN_CLIENT_KEY: a.clientKey,
      PAYMENTS_ADYEN_HMAC_KEY: a.hmacKey, PAYMENTS_ADYEN_MERCHANT_ACCOUNT: a.merchantAccount,
      PAYMENTS_ADYEN_SDK_URL: `${s.sandboxUrl}/adyen/sdk/adyen.js`,
    });
  }
  if (paypal) {
    const p = secrets.paypal;
    Object.assign(engineExtra, {
      PAYMENTS_PAYPAL_BASE_URL: `${s.sandboxUrl}/paypal`,
      PAYMENTS_PAYPAL_CLIENT_ID: p.clientId, PAYMENTS_PAYPAL_CLIENT_SECRET: p.clientSecret,
      PAYMENTS_PAYPAL_WEBHOOK_ID: p.webhookId, PAYMENTS_PAYPAL_SANDBOX_CERT_URL: s.sandboxUrl,
      PAYMENTS_PAYPAL_PAYOUT_POLL_S: '1',
    });
  }
  s.engine = await startProgram(s.workDir, 'paymentsd', required('PAYMENTSD_BIN'), [
    '--psp-base-url', s.sandboxUrl, '--psp-publishable-key', secrets.sandboxPublishable,
    '--public-url', s.engineUrl, '--log-level', 'debug',
  ], {
    PAYMENTS_DATABASE_URL: s.db.url,
    PAYMENTS_PSP_SECRET_KEY: secrets.sandboxSecret,
    PAYMENTS_WEBHOOK_SECRET: secrets.webhookSecret,
    PAYMENTS_ADMIN_TOKEN: secrets.adminToken,
    ...engineExtra,
    ...engineEnv,
  }, enginePort);
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const res = await fetch(`${s.engineUrl}/readyz`).catch(() => null);
    if (res && res.status === 200) break;
    if (Date.now() > until) throw new Error('engine not ready:\n' + s.engine.output);
    await new Promise((r) => setTimeout(r, 100));
  }
  fs.mkdirSync(s.screenshotDir, { recursive: true });
  s.browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });

  // ---- the merchant's API ----

  s.api = async (method, urlPath, body, headers = {}) => {
    const res = await fetch(s.engineUrl + urlPath, {
      method,
      headers: { Authorization: `Bearer ${s.db.keys.shop}`,
                 ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: await res.json() };
  };
  s.admin = async (method, urlPath, body) => {
    const res = await fetch(s.engineUrl + urlPath, {
      method,
      headers: { Authorization: `Bearer ${secrets.adminToken}`,
                 ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: await res.json() };
  };
  s.createLink = async (params) => {
    const r = await s.api('POST', '/v1/payment_links', params,
                          { 'Idempotency-Key': 'link-' + crypto.randomUUID() });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.url, `${s.engineUrl}/pay/${r.json.id}`);
    return r.json;
  };
  /** The one intent a link's visit made. */
  s.onlyIntentOf = async (linkId) => {
    const r = await s.api('GET', '/v1/payment_intents?limit=100');
    assert.equal(r.status, 200);
    const intents = r.json.data.filter((pi) => pi.metadata && pi.metadata.payment_link === linkId);
    assert.equal(intents.length, 1, JSON.stringify(intents));
    return intents[0];
  };
  s.intentReaches = async (id, status) => {
    const end = Date.now() + WAIT_MS;
    let pi;
    do {
      pi = (await s.api('GET', `/v1/payment_intents/${id}`)).json;
      if (pi.status === status) return pi;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < end);
    assert.fail(`intent ${id} is ${pi.status}, expected ${status}`);
  };
  /** The intent's ledger transactions, each checked to balance. */
  s.ledgerOf = async (id) => {
    const r = await s.api('GET', `/v1/ledger/transactions?payment_intent=${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    for (const tx of r.json.data) {
      const debits = tx.entries.reduce((sum, e) => sum + e.debit, 0);
      const credits = tx.entries.reduce((sum, e) => sum + e.credit, 0);
      assert.equal(debits, credits, `transaction ${tx.id} balances`);
    }
    return r.json.data;
  };
  s.assertTrialBalance = async () => {
    const r = await s.admin('GET', '/v1/ledger/trial_balance');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.balanced, true, JSON.stringify(r.json));
    for (const c of r.json.currencies) assert.equal(c.debits, c.credits, JSON.stringify(c));
  };

  // ---- the browser ----

  s.newPage = async () => {
    const context = await s.browser.newContext({ viewport: { width: 720, height: 900 } });
    context.on('request', (req) => {
      s.browserRequests.push({ url: req.url(), method: req.method(), headers: req.headers(),
                               body: req.postData() || '' });
    });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    return { context, page, problems };
  };
  let shotNumber = 0;
  s.shot = async (page, what) => {
    shotNumber += 1;
    await page.screenshot({ path: path.join(s.screenshotDir, `${name}-${String(shotNumber)
      .padStart(2, '0')}-${what}.png`), fullPage: true });
  };
  s.waitState = (page, state) =>
    page.waitForSelector(`body[data-state="${state}"]`, { timeout: WAIT_MS });

  /** The sandbox's card iframe (Stripe format): types the card, presses Pay. */
  s.payCardFrame = async (page, number) => {
    const frame = page.frameLocator('#psp-frame');
    await frame.locator('#number').waitFor({ timeout: WAIT_MS });
    await frame.locator('#number').fill(number.replace(/(\d{4})(?=\d)/g, '$1 '));
    await frame.locator('#exp').fill('12/34');
    await frame.locator('#cvc').fill('123');
    await frame.locator('#pay').click();
  };
  /** Adyen Web's card component (the sandbox's imitation, in an iframe). */
  s.payAdyen = async (page, { number, holder = 'Jo Shopper', expiry = '03/30', cvc = '737' }) => {
    const frame = page.frameLocator('#adyen-card iframe');
    await frame.locator('#number').waitFor({ timeout: WAIT_MS });
    await frame.locator('#number').fill(number.replace(/(\d{4})(?=\d)/g, '$1 '));
    await frame.locator('#expiry').fill(expiry);
    await frame.locator('#cvc').fill(cvc);
    await frame.locator('#holder').fill(holder);
    await frame.locator('#pay').click();
  };
  /** PayPal's button, then at the sandbox's approval page: funding and `button`. */
  s.atPayPal = async (page, funding, button, shotName) => {
    await page.locator('#paypal-pay').waitFor({ timeout: WAIT_MS });
    await Promise.all([page.waitForURL(`${s.sandboxUrl}/paypal/checkoutnow**`),
                       page.click('#paypal-pay')]);
    assert.match(await page.textContent('#buyer'), /sb-buyer@personal\.example\.com/);
    if (funding) await page.selectOption('#funding', funding);
    if (shotName) await s.shot(page, shotName);
    await Promise.all([page.waitForURL(`${s.engineUrl}/pay/**`), page.click(button)]);
  };
  /** A PayPal sandbox call with the REST app's Basic credentials. */
  s.paypalBasic = async (method, urlPath, body) => {
    const p = secrets.paypal;
    const auth = Buffer.from(`${p.clientId}:${p.clientSecret}`).toString('base64');
    const res = await fetch(`${s.sandboxUrl}/paypal${urlPath}`, {
      method, headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };

  /** Stops everything; asserts both programs exit cleanly. */
  s.stop = async () => {
    if (s.browser) await s.browser.close();
    const codes = [];
    if (s.engine) codes.push(['paymentsd', await s.engine.stop()]);
    if (s.sandbox) codes.push(['psp-sandbox', await s.sandbox.stop()]);
    if (s.engine && process.env.CHECKOUT_KEEP_LOGS) {
      fs.writeFileSync(path.join(s.screenshotDir, `${name}-paymentsd.log`), s.engine.output);
    }
    if (s.proxy) await s.proxy.close();
    if (s.db) s.db.drop();
    fs.rmSync(s.workDir, { recursive: true, force: true });
    for (const [prog, code] of codes) assert.equal(code, 0, `${prog} exits cleanly`);
  };
  return s;
}

/** A ledger entry's amount on the account whose key starts with `prefix`. */
function entry(tx, prefix, side) {
  const e = tx.entries.find((x) => x.account_key.startsWith(prefix) && x[side] > 0);
  assert.ok(e, `${tx.kind}: no ${side} on ${prefix}: ${JSON.stringify(tx.entries)}`);
  return e[side];
}

/**
 * The stack's helpers as plain functions for a test file whose stack starts
 * in `before` (`get` answers it then): `const { api, ... } = helpersOf(() => s)`.
 */
function helpersOf(get) {
  const names = ['api', 'createLink', 'onlyIntentOf', 'intentReaches', 'ledgerOf', 'assertTrialBalance',
                 'newPage', 'shot', 'waitState'];
  return Object.fromEntries(names.map((n) => [n, (...args) => get()[n](...args)]));
}

module.exports = { startBrowserStack, helpersOf, entry, WAIT_MS };
