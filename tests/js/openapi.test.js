// The OpenAPI document (GET /v1/openapi.json) against the running engine,
// sandbox PSP and PostgreSQL:
//  1. a merchant's whole journey (intents, payment at the PSP, capture,
//     refund, links, ledger, errors): every answer, headers included, must
//     conform to the documented response for its status;
//  2. requests generated from the document for EVERY operation (a valid
//     body; every field given each wrong JSON type, its schema's boundary
//     values (minimum/maximum and one past, lengths at and past their
//     limits, values outside enums and patterns, arrays and maps past their
//     sizes, nested fields broken), left out, plus unknown fields, the empty
//     object and the required fields alone; raw non-JSON bodies; odd path
//     values and each query parameter at its limits; odd headers) must
//     never be answered 5xx, and every answer must conform too.
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startStack, WAIT_MS } = require('./engine_harness');
const { OpenApi, prng, bodies, queryValues, RAW_BODIES, PATH_VALUES } = require('./openapi_tools');

let stack = null;
let api = null;
const problems = [];
let answers = 0;

async function call(method, urlPath, body, headers = {}, merchant = 'shop') {
  const r = await stack.api(merchant, method, urlPath, body, headers);
  answers += 1;
  const found = api.check(method, urlPath, r.status, r.headers, r.text);
  for (const p of found) problems.push(p);
  return r;
}

before(async () => {
  // The merchant's rate limit opened: thousands of generated requests in a
  // row should reach the handlers, not the token bucket.
  stack = await startStack({ prefix: 'openapi', merchants: ['shop'],
                             engineArgs: ['--api-rate-burst', '1000000'] });
  const res = await stack.api('shop', 'GET', '/v1/openapi.json');
  assert.equal(res.status, 200);
  api = new OpenApi(res.json);
});

after(async () => {
  if (stack) await stack.stop();
});

async function intentReaches(id, status) {
  const until = Date.now() + WAIT_MS;
  let last;
  while (Date.now() < until) {
    last = (await call('GET', `/v1/payment_intents/${id}`)).json;
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`intent ${id} did not reach ${status}: ${JSON.stringify(last)}`);
}

test('every answer of a merchant journey conforms to the document', async () => {
  const created = await call('POST', '/v1/payment_intents',
                             { amount: 5000, currency: 'EUR', capture_method: 'manual',
                               metadata: { order: '1001' }, description: 'Blue mug' },
                             { 'Idempotency-Key': 'journey-1' });
  assert.equal(created.status, 200, created.text);
  const replay = await call('POST', '/v1/payment_intents',
                            { amount: 5000, currency: 'EUR', capture_method: 'manual',
                              metadata: { order: '1001' }, description: 'Blue mug' },
                            { 'Idempotency-Key': 'journey-1' });
  assert.equal(replay.headers.get('Idempotent-Replayed'), 'true');
  const reuse = await call('POST', '/v1/payment_intents', { amount: 1, currency: 'eur' },
                           { 'Idempotency-Key': 'journey-1' });
  assert.equal(reuse.status, 422);
  const pi = created.json;
  const paid = await stack.pay(pi.psp_reference);
  assert.equal(paid.status, 200, JSON.stringify(paid.json));
  await intentReaches(pi.id, 'authorized');
  assert.equal((await call('POST', `/v1/payment_intents/${pi.id}/capture`,
                           { amount_to_capture: 4000 })).status, 200);
  const refund = await call('POST', '/v1/refunds',
                            { payment_intent: pi.id, amount: 1000, reason: 'duplicate' });
  assert.equal(refund.status, 200, refund.text);
  assert.equal((await call('GET', `/v1/refunds/${refund.json.id}`)).status, 200);
  assert.equal((await call('GET', `/v1/payment_intents/${pi.id}/events`)).status, 200);
  assert.equal((await call('GET', '/v1/payment_intents?limit=2')).status, 200);
  const declined = await call('POST', '/v1/payment_intents', { amount: 700, currency: 'usd' });
  await stack.pay(declined.json.psp_reference, '4000000000000002');
  const canceled = await call('POST', `/v1/payment_intents/${declined.json.id}/cancel`,
                              { cancellation_reason: 'abandoned' });
  assert.equal(canceled.status, 200, canceled.text);
  assert.equal((await call('GET', `/v1/ledger/transactions?payment_intent=${pi.id}`)).status, 200);
  assert.equal((await call('GET', `/v1/ledger/settlements?payment_intent=${pi.id}`)).status, 200);
  const accounts = await call('GET', '/v1/ledger/accounts?limit=100');
  assert.equal(accounts.status, 200);
  assert.ok(accounts.json.data.length > 0);
  assert.equal((await call('GET', `/v1/ledger/accounts/${accounts.json.data[0].id}/entries`))
    .status, 200);
  const link = await call('POST', '/v1/payment_links', { amount: 1999, currency: 'eur' });
  assert.equal(link.status, 200, link.text);
  assert.equal((await call('POST', `/v1/payment_links/${link.json.id}`, { active: false }))
    .status, 200);
  assert.equal((await call('GET', `/v1/payment_links/${link.json.id}`)).status, 200);
  assert.equal((await call('GET', '/v1/payment_links')).status, 200);
  // Outbound webhooks: endpoints, events, deliveries, replays.
  const endpoint = await call('POST', '/v1/webhook_endpoints',
                              { url: 'http://127.0.0.1:9/hooks', enabled_events: ['*'],
                                description: 'orders' });
  assert.equal(endpoint.status, 200, endpoint.text);
  const ep = endpoint.json.id;
  assert.equal((await call('GET', '/v1/webhook_endpoints')).status, 200);
  assert.equal((await call('GET', `/v1/webhook_endpoints/${ep}`)).status, 200);
  assert.equal((await call('POST', `/v1/webhook_endpoints/${ep}`,
                           { enabled_events: ['payment_intent.captured'] })).status, 200);
  assert.equal((await call('POST', `/v1/webhook_endpoints/${ep}/roll_secret`,
                           { expires_in: 60 })).status, 200);
  const later = await call('POST', '/v1/payment_intents', { amount: 800, currency: 'usd' });
  await stack.pay(later.json.psp_reference);
  await intentReaches(later.json.id, 'captured');
  const events = await call('GET', '/v1/events?limit=5');
  assert.equal(events.status, 200);
  assert.ok(events.json.data.length > 0);
  const evt = events.json.data[0].id;
  assert.equal((await call('GET', `/v1/events/${evt}`)).status, 200);
  assert.equal((await call('GET', `/v1/events?type=payment_intent.captured`)).status, 200);
  assert.equal((await call('POST', `/v1/events/${evt}/replay`, {})).status, 200);
  assert.equal((await call('GET', `/v1/webhook_endpoints/${ep}/deliveries`)).status, 200);
  assert.equal((await call('POST', `/v1/webhook_endpoints/${ep}/replay`, { since: 0 })).status,
               200);
  assert.equal((await call('DELETE', `/v1/webhook_endpoints/${ep}`)).status, 200);
  // Errors: the one shape, with the documented headers.
  assert.equal((await call('GET', '/v1/payment_intents/pi_nope')).status, 404);
  assert.equal((await call('POST', '/v1/payment_intents', '{', {})).status, 400);
  assert.equal((await call('POST', `/v1/payment_intents/${pi.id}/capture`)).status, 400);
  const unauth = await stack.api('nobody', 'GET', '/v1/payment_intents');
  assert.equal(unauth.status, 401);
  problems.push(...api.check('GET', '/v1/payment_intents', 401, unauth.headers, unauth.text));
  assert.equal((await call('GET', '/healthz')).status, 200);
  assert.equal((await call('GET', '/readyz')).status, 200);
  assert.deepEqual(problems, []);
});

test('requests generated from the document are never answered 5xx', async () => {
  const rand = prng(20261206);
  const before = problems.length;
  const fives = [];
  const covered = new Map();  // "METHOD template" -> requests sent
  // Real ids, so generated requests reach the handlers' deeper branches too.
  const pi = (await call('POST', '/v1/payment_intents', { amount: 900, currency: 'usd' })).json;
  const link = (await call('POST', '/v1/payment_links', { amount: 900, currency: 'usd' })).json;
  const paid = (await call('POST', '/v1/payment_intents', { amount: 1500, currency: 'usd' })).json;
  await stack.pay(paid.psp_reference);
  await intentReaches(paid.id, 'captured');
  const refund = (await call('POST', '/v1/refunds', { payment_intent: paid.id, amount: 100 })).json;
  const endpoint = (await call('POST', '/v1/webhook_endpoints',
                               { url: 'http://127.0.0.1:9/gen', enabled_events: ['*'] })).json;
  const event = (await call('GET', '/v1/events?limit=1')).json.data[0];
  const accounts = (await call('GET', '/v1/ledger/accounts')).json.data;
  const realIds = [pi.id, link.id, paid.id, refund.id, endpoint.id, event.id,
                   String(accounts.length ? accounts[0].id : 1)];
  const send = async (method, template, url, body, headers) => {
    const r = await call(method, url, body, headers);
    const key = `${method} ${template}`;
    covered.set(key, (covered.get(key) || 0) + 1);
    if (r.status >= 500) fives.push(`${method} ${url} ${JSON.stringify(body)} -> ${r.status} ${r.text}`);
    return r;
  };
  const operations = api.operations();
  // DELETE last, so the real objects live while the rest is generated.
  operations.sort((a, b) => (a.method === 'DELETE') - (b.method === 'DELETE'));
  for (const { method, path: template, op } of operations) {
    const params = (op.parameters || []).map((p) => api.deref(p));
    const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name);
    const queryParams = params.filter((p) => p.in === 'query');
    const fill = (value) => template.replace(/\{[^}]+\}/g, value);
    const urls = pathParams.length ? [...PATH_VALUES, ...realIds].map(fill) : [template];
    const schema = api.requestSchema(op);
    const onReal = (url) => !pathParams.length || realIds.some((id) => url.endsWith(`/${id}`) ||
                                                                   url.includes(`/${id}/`));
    for (const url of urls) {
      const queries = [''];
      if (onReal(url)) {
        for (const q of queryParams)
          for (const v of queryValues(api, q, rand)) queries.push(`?${q.name}=${encodeURIComponent(v)}`);
        queries.push(`?${queryParams.map((q) => `${q.name}=${realIds[0]}`).join('&')}`);
        queries.push('?unknown_param=1');
      }
      for (const query of (method === 'GET' ? queries : [''])) {
        await send(method, template, url + query, undefined);
      }
      if (method !== 'POST') continue;
      const candidates = bodies(api, schema, rand);
      // Every body against the real objects; a few against the rest.
      const chosen = onReal(url) ? candidates : candidates.slice(0, 3);
      for (const body of chosen) {
        const headers = rand() < 0.3 ? { 'Idempotency-Key': `gen-${Math.floor(rand() * 1e9)}` }
                                      : {};
        await send(method, template, url, body, headers);
      }
      for (const raw of RAW_BODIES) await send(method, template, url, raw);
      for (const headers of [{ 'Idempotency-Key': 'k'.repeat(300) }, { 'Idempotency-Key': ' ' },
                             { 'Content-Type': 'text/plain' }]) {
        await send(method, template, url, JSON.stringify(schema ? {} : {}), headers);
      }
    }
  }
  assert.deepEqual(fives, []);
  assert.deepEqual(problems.slice(before), []);
  // Every documented operation was generated for.
  for (const { method, path: template } of api.operations())
    assert.ok(covered.get(`${method} ${template}`) > 0, `no request for ${method} ${template}`);
  assert.ok(answers > 2000, `only ${answers} answers`);
});
