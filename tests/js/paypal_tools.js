// What the PayPal node tests share: PayPal's OpenAPI subset (tests/data/
// paypal/openapi-subset.json: Orders v2, Payments v2, Webhooks v1) compiled
// with Ajv, and PayPal's offline webhook check (CRC-32 of the raw body,
// RSA-SHA256 over "transmission id|time|webhook id|crc" with the signing
// certificate) written with node's crypto and zlib only.
//
// The subset is OpenAPI 3.0 (draft-4 style schemas) whose patterns are not
// valid with JavaScript's 'u' flag, so this Ajv is the draft-07 one with
// unicodeRegExp off; formats are not checked.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const Ajv = require('ajv');

const DOC = JSON.parse(fs.readFileSync(
  path.join(__dirname, '..', 'data', 'paypal', 'openapi-subset.json'), 'utf8'));
const VECTORS = JSON.parse(fs.readFileSync(
  path.join(__dirname, '..', 'data', 'paypal', 'webhook-test-vectors.json'), 'utf8'));
const DOC_ID = 'paypal-openapi.json';

function esc(p) {
  return p.replace(/~/g, '~0').replace(/\//g, '~1');
}

class PayPalApi {
  constructor() {
    this.doc = DOC;
    this.ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false,
                         validateFormats: false, logger: false });
    this.ajv.addSchema(DOC, DOC_ID);
    this.cache = new Map();
  }

  compile(ptr) {
    if (!this.cache.has(ptr)) this.cache.set(ptr, this.ajv.compile({ $ref: `${DOC_ID}${ptr}` }));
    return this.cache.get(ptr);
  }

  /** The path template of the document that `urlPath` (without /paypal) matches. */
  match(method, urlPath) {
    const segments = urlPath.split('?')[0].split('/').filter(Boolean);
    for (const [p, item] of Object.entries(this.doc.paths)) {
      if (!item[method.toLowerCase()]) continue;
      const pattern = p.split('/').filter(Boolean);
      if (pattern.length !== segments.length) continue;
      if (pattern.every((s, i) => s.startsWith('{') || s === segments[i])) return p;
    }
    return null;
  }

  /** Problems of one answer against its documented response (empty: conforms). */
  checkAnswer(method, urlPath, status, text) {
    const template = this.match(method, urlPath);
    if (!template) return [`${method} ${urlPath}: not in the document`];
    const op = this.doc.paths[template][method.toLowerCase()];
    const key = op.responses[String(status)] ? String(status) : 'default';
    let res = op.responses[key];
    if (!res) return [`${method} ${template}: status ${status} not documented`];
    let ptr = `#/paths/${esc(template)}/${method.toLowerCase()}/responses/${key}`;
    if (res.$ref) {
      ptr = res.$ref;
      res = res.$ref.replace(/^#\//, '').split('/').reduce((n, k) => n[k.replace(/~1/g, '/')], this.doc);
    }
    const media = res.content && res.content['application/json'];
    if (!media) return text === '' ? [] : [`${method} ${template} ${status}: a body where none is documented`];
    let body;
    try { body = JSON.parse(text); } catch { return [`${method} ${template} ${status}: not JSON: ${text}`]; }
    const validate = this.compile(`${ptr}/content/application~1json/schema`);
    if (validate(body)) return [];
    return [`${method} ${template} ${status}: ${this.ajv.errorsText(validate.errors)} in ${text.slice(0, 300)}`];
  }

  /** Problems of one request body against its documented request schema. */
  checkRequest(method, urlPath, text) {
    const template = this.match(method, urlPath);
    if (!template) return [`${method} ${urlPath}: not in the document`];
    const op = this.doc.paths[template][method.toLowerCase()];
    if (!op.requestBody) return [];
    if (text === '') return op.requestBody.required ? [`${method} ${template}: no body`] : [];
    let body;
    try { body = JSON.parse(text); } catch { return [`${method} ${template}: the body is not JSON`]; }
    const validate = this.compile(
      `#/paths/${esc(template)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`);
    if (validate(body)) return [];
    return [`${method} ${template}: ${this.ajv.errorsText(validate.errors)} in ${text.slice(0, 300)}`];
  }

  /** Problems of one webhook event against the document's `event` schema. */
  checkEvent(text) {
    const validate = this.compile('#/components/schemas/event');
    const body = JSON.parse(text);
    if (validate(body)) return [];
    return [`event: ${this.ajv.errorsText(validate.errors)}`];
  }
}

/** The signed string: transmission id|time|webhook id|unsigned decimal CRC-32 of the raw body. */
function signedString(transmissionId, transmissionTime, webhookId, rawBody) {
  return `${transmissionId}|${transmissionTime}|${webhookId}|${zlib.crc32(Buffer.from(rawBody, 'utf8')) >>> 0}`;
}

/** PayPal's offline verification with the certificate's public key. */
function verifyDelivery(headers, rawBody, webhookId, certPem) {
  const get = (name) => headers[name] ?? headers[name.toLowerCase()];
  if (get('PAYPAL-AUTH-ALGO') !== 'SHA256withRSA') return false;
  const data = signedString(get('PAYPAL-TRANSMISSION-ID'), get('PAYPAL-TRANSMISSION-TIME'),
                            webhookId, rawBody);
  const key = new crypto.X509Certificate(certPem).publicKey;
  return crypto.verify('sha256', Buffer.from(data, 'utf8'), key,
                       Buffer.from(get('PAYPAL-TRANSMISSION-SIG'), 'base64'));
}

module.exports = { PayPalApi, VECTORS, signedString, verifyDelivery };
