// Validates the requests a client sent to the sandbox's PayPal mode, as
// recorded by `psp-sandbox --record-requests FILE` (JSON lines; the Adyen
// mode's requests in the same file are skipped), against the request
// schemas of PayPal's OpenAPI subset (tests/data/paypal/openapi-subset.json).
// For the PayPal connector's integration test: every body it builds, and a
// PayPal-Request-Id on every POST to Orders and Payments.
//
//   node paypal_validate_requests.js RECORDING.jsonl MIN_POSTS
//
// Prints one line per problem and exits 1 when there is any, or when fewer
// than MIN_POSTS POST requests were checked; prints the count otherwise.
'use strict';

const fs = require('node:fs');

const { PayPalApi } = require('./paypal_tools');

const PREFIX = '/paypal';
const [file, minPosts] = process.argv.slice(2);
const api = new PayPalApi();

const problems = [];
let checked = 0;
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
for (const line of lines) {
  const r = JSON.parse(line);
  if (!r.path.startsWith(PREFIX + '/')) continue;
  if (r.headers && r.headers.authorization !== undefined) problems.push(`${r.path}: credentials were recorded`);
  if (r.method !== 'POST' || r.path === '/paypal/v1/oauth2/token') continue;
  const p = r.path.slice(PREFIX.length);
  problems.push(...api.checkRequest(r.method, p, r.body));
  if (p.startsWith('/v2/') && !p.endsWith('/void') && (!r.headers || !r.headers['paypal-request-id']))
    problems.push(`${r.path}: no PayPal-Request-Id`);
  checked += 1;
}
for (const p of problems) console.log(p);
if (checked < Number(minPosts || 1)) {
  console.log(`only ${checked} POST requests checked, expected at least ${minPosts}`);
  process.exit(1);
}
if (problems.length > 0) process.exit(1);
console.log(`${checked} requests valid`);
