#!/usr/bin/env node
// Reproduces, each in a few seconds and without chaos, the engine defects
// the crash storm found in Adyen's answers (docs/reliability.md, "Adyen in
// the storm"). Same world as the storm (tests/storm/storm.js): its own
// PostgreSQL cluster, the sandbox, the engine with both PSP accounts.
// Prints PRESENT or FIXED per defect; exit code 1 while any is present.
//
//   node tests/storm/adyen_defects.js [--build DIR] [--keep]
'use strict';

const { World, http, sleep, sqlRows, parseArgs } = require('./storm.js');
const adyen = require('./adyen.js');

async function main() {
  const opt = parseArgs([process.argv[0], process.argv[1], '--seed', 'defects', ...process.argv.slice(2)]);
  const world = new World(opt);
  const results = [];
  let n = 0;
  const key = (what) => `defects-${process.pid}-${what}-${n++}`;
  const api = (method, p, json, k) => http(method, world.engineUrl(p), {
    headers: { Authorization: `Bearer ${world.apiKey}`, ...(k ? { 'Idempotency-Key': k } : {}) }, json,
  });
  // A request retried with its key until a final answer (as the storm does).
  const op = async (method, p, json, k) => {
    for (let i = 0; i < 200; i++) {
      const r = await api(method, p, json, k);
      if (r.status !== 0 && r.status !== 409 && r.status !== 429 && r.status < 500) return r;
      await sleep(100);
    }
    throw new Error(`${method} ${p}: no final answer`);
  };
  const create = async () => {
    const r = await op('POST', '/v1/payment_intents',
      { amount: 4321, currency: 'eur', capture_method: 'manual', psp: 'adyen' }, key('create'));
    if (r.status !== 200) throw new Error(`create answered ${r.status}: ${r.text}`);
    return { intent: r.body.id, clientSecret: r.body.client_secret };
  };
  const status = async (id) => (await api('GET', `/v1/payment_intents/${id}`)).body;
  const until = async (id, pred, ms = 40000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) { const pi = await status(id); if (pi && pred(pi)) return pi; await sleep(100); }
    return null;
  };
  const pay = (flow, holder) => adyen.pay(http, world.sandboxUrl, world.adyenClientKey, flow,
    { card: adyen.CARDS_OK[0], holder });
  const record = (name, present, detail) => {
    results.push({ name, present });
    console.log(`${present ? 'PRESENT' : 'FIXED  '}  ${name}\n         ${detail}`);
  };
  const said = (r) => `${r.status}${r.body && r.body.error ? ` "${r.body.error.message}"` : r.body ? ` (${r.body.status})` : ''}`;
  let code = 0;
  try {
    await world.startPostgres();
    await world.createDatabase();
    await world.startSandbox();
    await world.startEngine(null);

    // 1. A capture on the shopper's Authorised before the engine has the
    // AUTHORISATION (held back 3 s by the sandbox's webhook delay).
    {
      await world.setFaults({ webhook_delay_ms: 3000 });
      const flow = await create();
      const paid = await pay(flow);
      const k = key('capture');
      const first = await op('POST', `/v1/payment_intents/${flow.intent}/capture`, {}, k);
      await world.setFaults({});
      const pi = await until(flow.intent, (x) => x.status === 'authorized');
      const again = await op('POST', `/v1/payment_intents/${flow.intent}/capture`, {}, k);
      record('1: a capture before the AUTHORISATION is processed gets a final 400',
        first.status >= 400 && first.status < 500 && again.status === first.status,
        `paid: ${paid}; capture answered ${said(first)}; intent then ${pi ? pi.status : '?'}; ` +
        `the same key again: ${said(again)} (want a retryable answer, then 202)`);
    }
    // 3a. A cancel of an Adyen intent no one has paid.
    {
      const flow = await create();
      // While the shopper may still pay (limits::event_only_payment_window_s)
      // the true answer is a retryable 503; a final refusal or a 200 that
      // cancels nothing is the defect.
      const r = await api('POST', `/v1/payment_intents/${flow.intent}/cancel`, {}, key('cancel'));
      const pi = await status(flow.intent);
      record('3a: a created Adyen intent cannot be canceled',
        !(r.status === 503 || ((r.status === 200 || r.status === 202) && pi.status === 'canceled')),
        `cancel answered ${said(r)}; intent ${pi.status}`);
    }
    // 3b. A cancel after a refused payment whose first attempt fails (the
    // PSP answers 5xx), resumed by its retry.
    {
      const flow = await create();
      const paid = await pay(flow, 'DECLINED');
      await until(flow.intent, (x) => x.last_payment_error);
      await world.setFaults({ error_percent: 100 });
      const k = key('cancel');
      const first = await api('POST', `/v1/payment_intents/${flow.intent}/cancel`, {}, k);
      await world.setFaults({});
      const again = await api('POST', `/v1/payment_intents/${flow.intent}/cancel`, {}, k);
      await sleep(1500); // Adyen's CANCELLATION (refused) arrives
      const pi = await status(flow.intent);
      const audit = await sqlRows(world.dbUrl, `SELECT version, actor, action FROM audit_events WHERE intent_id = '${flow.intent}' ORDER BY id`);
      record('3b: a resumed cancel after a refusal answers 200 with nothing canceled',
        again.status === 200 && again.body && again.body.status !== 'canceled',
        `paid: ${paid}; first attempt ${said(first)}; retry ${said(again)}; intent ${pi.status}; ` +
        `audit ${audit.map((a) => `${a.version}:${a.actor}/${a.action}`).join(' ')}`);
    }
    // 4. A full capture whose PSP answer was lost (the engine dies right
    // after Adyen accepted it), retried after Adyen's CAPTURE was recorded.
    {
      const flow = await create();
      await pay(flow);
      await until(flow.intent, (x) => x.status === 'authorized');
      await world.killAndRestart(0, 'after_psp_capture');
      const k = key('capture');
      const first = await api('POST', `/v1/payment_intents/${flow.intent}/capture`, {}, k);
      await world.ensureEngineUp();
      const pi = await until(flow.intent, (x) => x.status === 'captured');
      const again = await op('POST', `/v1/payment_intents/${flow.intent}/capture`, {}, k);
      record('4: a resumed full capture is refused after its CAPTURE arrived',
        again.status >= 400 && again.status < 500,
        `first attempt ${said(first)} (engine died after the PSP call); intent then ${pi ? pi.status : '?'}; ` +
        `retry ${said(again)} (want 200 captured or 202)`);
    }
    code = results.some((r) => r.present) ? 1 : 0;
  } catch (e) {
    console.error(`adyen_defects: ${e.stack || e}`);
    code = 2;
  }
  await world.stopAll();
  await world.stopPostgres(opt.keep);
  if (code === 0 && !opt.keep) require('node:fs').rmSync(world.work, { recursive: true, force: true });
  else console.log(`logs in ${world.work}`);
  process.exit(code);
}

main();
