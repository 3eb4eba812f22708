// Validates the requests a client sent to the sandbox's Adyen mode, as
// recorded by `psp-sandbox --record-requests FILE` (JSON lines), against the
// request schemas of Adyen's OpenAPI subset (tests/data/adyen/
// openapi-subset.json, JSON Schema 2020-12, Ajv). Used by the Adyen
// connector's integration test to check every body the connector builds.
//
//   node adyen_validate_requests.js RECORDING.jsonl MIN_POSTS
//
// Prints one line per problem and exits 1 when there is any, or when fewer
// than MIN_POSTS POST requests were checked; prints the count otherwise.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const { OpenApi } = require('./openapi_tools');

const PREFIX = '/adyen/checkout/v71';
const [file, minPosts] = process.argv.slice(2);
const DOC = JSON.parse(fs.readFileSync(
  path.join(__dirname, '..', 'data', 'adyen', 'openapi-subset.json'), 'utf8'));
const api = new OpenApi(DOC);
api.ajv.logger = { log() {}, warn() {}, error: console.error };

const problems = [];
let checked = 0;
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
for (const line of lines) {
  const r = JSON.parse(line);
  if (r.headers && r.headers['x-api-key'] !== undefined) problems.push(`${r.path}: the API key was recorded`);
  if (r.method !== 'POST' || !r.path.startsWith(PREFIX)) continue;
  const template = api.match(r.method, r.path.slice(PREFIX.length));
  if (!template) {
    problems.push(`${r.path}: no such operation in the OpenAPI subset`);
    continue;
  }
  const ptr = `#/paths/${template.replace(/~/g, '~0').replace(/\//g, '~1')}/post/requestBody/content/application~1json/schema`;
  const validate = api.ajv.compile({ $ref: `openapi.json${ptr}` });
  let body;
  try {
    body = JSON.parse(r.body);
  } catch (e) {
    problems.push(`${r.path}: the body is not JSON`);
    continue;
  }
  if (!validate(body)) problems.push(`${r.path}: ${api.ajv.errorsText(validate.errors)} in ${r.body}`);
  if (!r.headers || !r.headers['idempotency-key']) problems.push(`${r.path}: no Idempotency-Key`);
  checked += 1;
}
for (const p of problems) console.log(p);
if (checked < Number(minPosts || 1)) {
  console.log(`only ${checked} POST requests checked, expected at least ${minPosts}`);
  process.exit(1);
}
if (problems.length > 0) process.exit(1);
console.log(`${checked} requests valid`);
