// The inspector console in a real browser: Debian's Chromium driven by
// playwright-core against a real engine, sandbox PSP and PostgreSQL, which
// the calling Catch2 test (tests/integration/inspector_test.cpp) started and
// prepared: a captured intent whose actor is live, and an open dead letter.
//
// Env: ENGINE_URL, ADMIN_TOKEN, INTENT_ID, DEAD_LETTER_ID, SCREENSHOT_DIR.
// Exits non-zero (with the reason) when the console does not work.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

// Generous: the test machine is shared and may be slow; a broken console
// fails anyway, only later.
const WAIT_MS = 20000;

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set`);
  return v;
}

async function main() {
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    throw new Error('playwright-core is missing: run `npm ci` in tests/js (dev.sh does)');
  }
  const base = env('ENGINE_URL');
  const token = env('ADMIN_TOKEN');
  const intentId = env('INTENT_ID');
  const deadLetterId = env('DEAD_LETTER_ID');
  const shots = env('SCREENSHOT_DIR');
  fs.mkdirSync(shots, { recursive: true });

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    // Script errors and CSP violations (which Chromium reports on the console)
    // mean the console is broken even when a step happens to pass.
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
    page.on('request', (r) => {
      if (r.url().includes(token)) problems.push('the token went into a URL: ' + r.url());
      if (!r.url().startsWith(base)) problems.push('a request left the engine: ' + r.url());
    });
    const shot = (name) => page.screenshot({ path: path.join(shots, `inspector-${name}.png`),
                                             fullPage: true });

    // ---- login --------------------------------------------------------------
    const res = await page.goto(base + '/inspector');
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'], /^default-src 'self'/);
    await page.locator('#token').fill('adm_wrong_token');
    await page.locator('#login button').click();
    await page.locator('#login-error').filter({ hasText: 'refused' }).waitFor({ timeout: WAIT_MS });
    await shot('login');
    await page.locator('#token').fill(token);
    await page.locator('#login button').click();
    await page.locator('#actors-table').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => document.cookie), '');
    assert.equal(await page.evaluate(() => sessionStorage.length), 1);

    // ---- actors: find the live payment intent actor ----------------------------
    await page.locator('#kind-filter [data-kind="payment_intent"]').click();
    const row = page.locator(`#actors-table tr[data-kind="payment_intent"][data-key="${intentId}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    assert.match(await row.innerText(), /captured/);
    // Live: the page refreshes by itself; the status line's time moves on.
    const before = await page.locator('#status').innerText();
    await page.waitForFunction((b) => document.getElementById('status').textContent !== b,
                               before, { timeout: WAIT_MS });
    await page.locator('#kind-filter [data-kind=""]').click();
    await page.locator('#actors-table tr[data-kind="intent_router"]').waitFor();
    await page.locator('#actors-table tr[data-kind="psp_gateway"]').waitFor();
    await shot('actors');

    // ---- one intent: its timeline and postings ---------------------------------
    await page.locator('#kind-filter [data-kind="payment_intent"]').click();
    await row.locator('a.intent-link').click();
    await page.locator('#timeline-table').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#intent-title').innerText(), intentId);
    assert.match(await page.locator('#intent-state').innerText(), /captured/);
    assert.match(await page.locator('#intent-actor').innerText(), /live/);
    const timeline = await page.locator('#timeline-table tbody').innerText();
    assert.match(timeline, /create/);
    assert.match(timeline, /capture/);
    assert.match(await page.locator('#postings-table tbody').innerText(), /psp_receivable/);
    await shot('intent');

    // ---- gateways ------------------------------------------------------------
    await page.locator('#nav a[data-view="gateways"]').click();
    const gateway = page.locator('#gateways-table tr[data-psp="sandbox"]');
    await gateway.waitFor({ timeout: WAIT_MS });
    assert.match(await gateway.innerText(), /closed/);
    assert.match(await gateway.innerText(), /\d+ ms/);
    await shot('gateways');

    // ---- webhooks: replay the dead letter -------------------------------------
    await page.locator('#nav a[data-view="webhooks"]').click();
    const dead = page.locator(`#dead-letters-table tr[data-dead-letter="${deadLetterId}"]`);
    await dead.waitFor({ timeout: WAIT_MS });
    assert.match(await dead.innerText(), /open/);
    await shot('webhooks');
    const replayed = page.waitForResponse((r) => r.url().endsWith(
      `/v1/admin/dead_letters/${deadLetterId}/replay`) && r.request().method() === 'POST');
    await dead.locator('button.replay').click();
    assert.equal((await replayed).status(), 202);
    await page.locator('#status').filter({ hasText: 'replayed 1 dead letter' })
      .waitFor({ timeout: WAIT_MS });
    // The replay is recorded on the dead letter (the event still fails: its
    // object is unknown, so it comes back as open with one replay).
    await page.waitForFunction((id) => {
      const r = document.querySelector(`#dead-letters-table tr[data-dead-letter="${id}"]`);
      return r && r.children[5].textContent === '1';
    }, deadLetterId, { timeout: WAIT_MS });
    await shot('webhooks-replayed');

    // ---- trial balance ---------------------------------------------------------
    await page.locator('#nav a[data-view="ledger"]').click();
    await page.locator('#trial-balance-table').waitFor({ timeout: WAIT_MS });
    assert.match(await page.locator('#ledger-balanced').innerText(), /balanced/);
    assert.match(await page.locator('#trial-balance-table tbody').innerText(), /eur/i);
    await shot('trial-balance');

    // ---- logout forgets the token ---------------------------------------------
    await page.locator('#logout').click();
    await page.locator('#login-view').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  } finally {
    await browser.close();
  }
  // A refused login logs one 401 on the console by design; anything else is a fault.
  const unexpected = problems.filter((p) => !/status of 401/.test(p));
  assert.deepEqual(unexpected, []);
  console.log('inspector console: all steps passed; screenshots in ' + shots);
}

main().catch((e) => {
  console.error('inspector console test FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
