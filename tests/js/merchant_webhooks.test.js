// Outbound webhooks end to end, against the real engine, sandbox PSP and
// PostgreSQL: merchants register receivers through the API; every delivery is
// verified with the official Standard Webhooks library (`standardwebhooks`),
// which must also refuse tampered, stale and wrong-secret deliveries. The
// receiver goes down, slow and answers 500, then comes back: every event
// arrives at least once under one id. A rolled secret overlaps with its
// successor; a disabled endpoint gets nothing; merchant A never gets
// merchant B's events; an engine killed between commit and delivery loses
// nothing.
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');

const { Webhook } = require('standardwebhooks');
const { startStack, until } = require('./engine_harness');

let stack = null;
const receivers = [];

/** A receiver: records every delivery; `mode` decides the answer. */
function startReceiver(name) {
  const r = { name, deliveries: [], mode: 'ok', server: null, port: 0, sockets: new Set() };
  r.listen = () => new Promise((resolve) => {
    r.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const delivery = { headers: req.headers, body, at: Date.now(), answered: r.mode };
        r.deliveries.push(delivery);
        if (r.mode === 'fail') { res.writeHead(500); res.end('receiver broken'); return; }
        if (r.mode === 'slow') return;  // never answers: the engine's deadline ends it
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      });
    });
    r.server.on('connection', (s) => { r.sockets.add(s); s.on('close', () => r.sockets.delete(s)); });
    r.server.listen(r.port, '127.0.0.1', () => { r.port = r.server.address().port; resolve(); });
  });
  r.down = () => new Promise((resolve) => {
    for (const s of r.sockets) s.destroy();
    r.server.close(() => resolve());
  });
  r.url = () => `http://127.0.0.1:${r.port}/hooks`;
  receivers.push(r);
  return r;
}

/** Verified deliveries of `r` with the secret(s) given; throws when one fails. */
function verified(r, secret) {
  const wh = new Webhook(secret);
  return r.deliveries.filter((d) => d.answered === 'ok').map((d) => wh.verify(d.body, {
    'webhook-id': d.headers['webhook-id'],
    'webhook-timestamp': d.headers['webhook-timestamp'],
    'webhook-signature': d.headers['webhook-signature'],
  }));
}

async function register(merchant, receiver, events = ['*']) {
  const r = await stack.api(merchant, 'POST', '/v1/webhook_endpoints',
                            { url: receiver.url(), enabled_events: events });
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.id, /^we_/);
  assert.match(r.json.secret, /^whsec_/);
  return r.json;
}

/** Creates and pays an intent (automatic capture): authorized and captured events. */
async function paidIntent(merchant, amount = 2500) {
  const created = await stack.api(merchant, 'POST', '/v1/payment_intents',
                                  { amount, currency: 'eur' });
  assert.equal(created.status, 200, created.text);
  const paid = await stack.pay(created.json.psp_reference);
  assert.equal(paid.status, 200, JSON.stringify(paid.json));
  await until(`${created.json.id} captured`, async () =>
    (await stack.api(merchant, 'GET', `/v1/payment_intents/${created.json.id}`)).json.status ===
      'captured');
  return created.json;
}

function eventsAbout(list, objectId) {
  return list.filter((e) => e.data.object.id === objectId || e.data.object.payment_intent === objectId);
}

before(async () => {
  stack = await startStack({
    prefix: 'mwh', merchants: ['alpha', 'beta'],
    engineArgs: ['--outbound-backoff-base-ms', '100', '--outbound-backoff-ceiling-ms', '400',
                 '--outbound-timeout-ms', '800', '--outbound-poll-ms', '100'],
  });
});

after(async () => {
  for (const r of receivers) if (r.server && r.server.listening) await r.down();
  if (stack) await stack.stop();
});

test('a registered receiver gets verified events; tampered, stale and wrong-secret ones fail', async () => {
  const receiver = startReceiver('alpha');
  await receiver.listen();
  const endpoint = await register('alpha', receiver);
  // The secret is answered once: reads never show it.
  const read = await stack.api('alpha', 'GET', `/v1/webhook_endpoints/${endpoint.id}`);
  assert.equal(read.json.secret, undefined);

  const pi = await paidIntent('alpha');
  const events = await until('authorized and captured', () => {
    const got = eventsAbout(verified(receiver, endpoint.secret), pi.id);
    const types = new Set(got.map((e) => e.type));
    return types.has('payment_intent.authorized') && types.has('payment_intent.captured') && got;
  });
  const captured = events.find((e) => e.type === 'payment_intent.captured');
  assert.match(captured.id, /^evt_/);
  assert.equal(captured.object, 'event');
  assert.equal(captured.data.object.status, 'captured');
  assert.equal(captured.data.object.amount_received, 2500);
  assert.equal(typeof captured.object_version, 'number');
  // The event log holds the same event, byte for byte.
  const logged = await stack.api('alpha', 'GET', `/v1/events/${captured.id}`);
  const delivery = receiver.deliveries.find((d) => d.headers['webhook-id'] === captured.id);
  assert.equal(logged.text, delivery.body);

  const wh = new Webhook(endpoint.secret);
  const headers = {
    'webhook-id': delivery.headers['webhook-id'],
    'webhook-timestamp': delivery.headers['webhook-timestamp'],
    'webhook-signature': delivery.headers['webhook-signature'],
  };
  assert.throws(() => wh.verify(delivery.body.replace('2500', '2501'), headers));
  assert.throws(() => wh.verify(delivery.body, { ...headers, 'webhook-id': 'evt_other' }));
  const stale = String(Number(headers['webhook-timestamp']) - 3600);
  assert.throws(() => wh.verify(delivery.body, { ...headers, 'webhook-timestamp': stale }));
  const other = await register('alpha', startReceiver('unused'));
  assert.throws(() => new Webhook(other.secret).verify(delivery.body, headers));
  await stack.api('alpha', 'DELETE', `/v1/webhook_endpoints/${other.id}`);

  // A refund is told too.
  const refund = await stack.api('alpha', 'POST', '/v1/refunds', { payment_intent: pi.id, amount: 500 });
  assert.equal(refund.status, 200, refund.text);
  await until('refund.succeeded', () => verified(receiver, endpoint.secret)
    .some((e) => e.type === 'refund.succeeded' && e.data.object.id === refund.json.id));
});

test('merchant A never gets merchant B\'s events; a disabled endpoint gets nothing', async () => {
  const a = startReceiver('a-only');
  const b = startReceiver('b-only');
  const off = startReceiver('disabled');
  await Promise.all([a.listen(), b.listen(), off.listen()]);
  const ea = await register('alpha', a);
  const eb = await register('beta', b);
  const eoff = await register('alpha', off);
  const disabled = await stack.api('alpha', 'POST', `/v1/webhook_endpoints/${eoff.id}`,
                                   { disabled: true });
  assert.equal(disabled.json.status, 'disabled');
  // Merchant B cannot see or change merchant A's endpoint.
  assert.equal((await stack.api('beta', 'GET', `/v1/webhook_endpoints/${ea.id}`)).status, 404);

  const pa = await paidIntent('alpha', 1100);
  const pb = await paidIntent('beta', 2200);
  await until('both receivers', () =>
    eventsAbout(verified(a, ea.secret), pa.id).length >= 2 &&
    eventsAbout(verified(b, eb.secret), pb.id).length >= 2);
  await new Promise((res) => setTimeout(res, 1000));
  assert.equal(eventsAbout(verified(a, ea.secret), pb.id).length, 0);
  assert.equal(eventsAbout(verified(b, eb.secret), pa.id).length, 0);
  assert.equal(off.deliveries.length, 0);
  const betaEvents = (await stack.api('beta', 'GET', '/v1/events?limit=100')).json.data;
  assert.ok(betaEvents.every((e) => e.data.object.id !== pa.id));
});

test('receiver down, slow, answering 500, then back: every event arrives, same id', async () => {
  const r = startReceiver('flaky');
  await r.listen();
  const ep = await register('alpha', r);
  r.mode = 'fail';
  const first = await paidIntent('alpha', 3100);
  await until('failed attempts', () => r.deliveries.length >= 3);
  r.mode = 'slow';
  const second = await paidIntent('alpha', 3200);
  await until('a slow attempt', () => r.deliveries.some((d) => d.answered === 'slow'));
  await r.down();
  const third = await paidIntent('alpha', 3300);
  await new Promise((res) => setTimeout(res, 1500));
  r.mode = 'ok';
  await r.listen();  // the same port
  const ids = new Set();
  await until('every event delivered', () => {
    const got = verified(r, ep.secret);
    for (const pi of [first, second, third]) {
      const types = new Set(eventsAbout(got, pi.id).map((e) => e.type));
      if (!types.has('payment_intent.authorized') || !types.has('payment_intent.captured'))
        return false;
    }
    for (const e of got) ids.add(e.id);
    return true;
  }, 30000);
  // Each failed attempt and its later success carry the same webhook-id.
  const failedIds = new Set(r.deliveries.filter((d) => d.answered !== 'ok')
    .map((d) => d.headers['webhook-id']));
  for (const id of failedIds) assert.ok(ids.has(id), `event ${id} delivered after failing`);
  const deliveries = await stack.api('alpha', 'GET', `/v1/webhook_endpoints/${ep.id}/deliveries?limit=100`);
  assert.equal(deliveries.status, 200);
  const retried = deliveries.json.data.filter((d) => d.attempts > 1);
  assert.ok(retried.length > 0);
  for (const d of retried) {
    assert.equal(d.state, 'delivered');
    assert.ok(d.attempt_history.some((a) => a.status === 500 || a.status === null));
  }
});

test('a rolled secret keeps signing beside its successor during the overlap', async () => {
  const r = startReceiver('rolling');
  await r.listen();
  const ep = await register('alpha', r);
  const rolled = await stack.api('alpha', 'POST', `/v1/webhook_endpoints/${ep.id}/roll_secret`,
                                 { expires_in: 3600 });
  assert.equal(rolled.status, 200, rolled.text);
  assert.notEqual(rolled.json.secret, ep.secret);
  const pi = await paidIntent('alpha', 4100);
  await until('deliveries', () => eventsAbout(verified(r, rolled.json.secret), pi.id).length >= 2);
  const overlapped = r.deliveries.filter((d) => d.answered === 'ok');
  for (const d of overlapped) assert.equal(d.headers['webhook-signature'].split(' ').length, 2);
  assert.ok(eventsAbout(verified(r, ep.secret), pi.id).length >= 2, 'the old secret verifies too');
  // A roll without overlap: the previous secret stops at once.
  const again = await stack.api('alpha', 'POST', `/v1/webhook_endpoints/${ep.id}/roll_secret`,
                                { expires_in: 0 });
  r.deliveries.length = 0;
  const pi2 = await paidIntent('alpha', 4200);
  await until('deliveries', () => eventsAbout(verified(r, again.json.secret), pi2.id).length >= 2);
  assert.throws(() => verified(r, rolled.json.secret));
});

test('an engine killed between commit and delivery loses no event', async () => {
  const r = startReceiver('after-crash');
  await r.listen();
  const ep = await register('alpha', r);
  await r.down();  // nothing can be delivered now
  const pi = await paidIntent('alpha', 5100);
  const logged = (await stack.api('alpha', 'GET', '/v1/events?limit=100')).json.data;
  const expected = eventsAbout(logged, pi.id).map((e) => e.id);
  assert.ok(expected.length >= 2, JSON.stringify(logged));
  await stack.engine.stop('SIGKILL');
  await r.listen();
  await stack.startEngine();
  await until('delivered after the restart', () => {
    const got = new Set(verified(r, ep.secret).map((e) => e.id));
    return expected.every((id) => got.has(id));
  }, 30000);
});

test('replays send an event again with its id; bad requests are refused', async () => {
  const r = startReceiver('replays');
  await r.listen();
  const ep = await register('alpha', r, ['payment_intent.captured']);
  const pi = await paidIntent('alpha', 6100);
  const first = await until('captured', () =>
    verified(r, ep.secret).find((e) => e.data.object.id === pi.id));
  assert.equal(first.type, 'payment_intent.captured');
  assert.equal(eventsAbout(verified(r, ep.secret), pi.id).length, 1, 'only the subscribed type');
  const replay = await stack.api('alpha', 'POST', `/v1/events/${first.id}/replay`,
                                 { endpoint: ep.id });
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.json.scheduled, 1);
  await until('the replay', () => verified(r, ep.secret).filter((e) => e.id === first.id).length === 2);
  const bad = [
    [{ url: 'http://example.com/hooks', enabled_events: ['*'] }, 'url'],
    [{ url: 'ftp://127.0.0.1/x', enabled_events: ['*'] }, 'url'],
    [{ url: 'https://shop.example/h', enabled_events: [] }, 'enabled_events'],
    [{ url: 'https://shop.example/h', enabled_events: ['payment_intent.created'] }, 'enabled_events'],
    [{ url: 'https://shop.example/h', enabled_events: ['*'], secret: 'x' }, 'secret'],
  ];
  for (const [body, param] of bad) {
    const res = await stack.api('alpha', 'POST', '/v1/webhook_endpoints', body);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error.param, param);
  }
  assert.equal((await stack.api('beta', 'POST', `/v1/events/${first.id}/replay`, {})).status, 404);
});
