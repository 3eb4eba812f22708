// The OpenAPI document as a test oracle: resolves operations and responses,
// validates answers against their schemas (Ajv, JSON Schema 2020-12, the
// dialect of OpenAPI 3.1), and generates valid and invalid requests from the
// request schemas for the no-500 run.
'use strict';

const Ajv2020 = require('ajv/dist/2020');

const DOC_ID = 'openapi.json';

function pointer(...parts) {
  return '#/' + parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

class OpenApi {
  constructor(doc) {
    this.doc = doc;
    // strict: false, because an OpenAPI document is not itself a schema
    // (openapi, paths, example...) and only its schema parts are compiled.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    this.ajv.addSchema(doc, DOC_ID);
    this.validators = new Map();
  }

  /** Follows a local $ref of the document. */
  deref(node) {
    while (node && node.$ref) {
      const parts = node.$ref.replace(/^#\//, '').split('/')
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      node = parts.reduce((n, p) => (n ? n[p] : undefined), this.doc);
    }
    return node;
  }

  /** Every (method, path) operation: [{ method, path, op }]. */
  operations() {
    const out = [];
    for (const [p, item] of Object.entries(this.doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (['get', 'post', 'delete', 'put', 'patch', 'head'].includes(method))
          out.push({ method: method.toUpperCase(), path: p, op });
      }
    }
    return out;
  }

  /** The path template of the document that `urlPath` matches, for `method`. */
  match(method, urlPath) {
    const clean = urlPath.split('?')[0];
    const segments = clean.split('/').filter(Boolean);
    for (const { method: m, path: p } of this.operations()) {
      if (m !== method) continue;
      const pattern = p.split('/').filter(Boolean);
      if (pattern.length !== segments.length) continue;
      if (pattern.every((s, i) => s.startsWith('{') || s === segments[i])) return p;
    }
    return null;
  }

  /** [response object, its pointer] documented for an answer, or [null]. */
  response(method, template, status) {
    const op = this.doc.paths[template][method.toLowerCase()];
    const key = op.responses[String(status)] ? String(status)
      : op.responses[`${String(status)[0]}XX`] ? `${String(status)[0]}XX` : 'default';
    const res = op.responses[key];
    if (!res) return [null, null];
    if (res.$ref) return [this.deref(res), res.$ref];
    return [res, pointer('paths', template, method.toLowerCase(), 'responses', key)];
  }

  /** Validates one answer; returns a list of problems (empty when it conforms). */
  check(method, urlPath, status, headers, text) {
    const template = this.match(method, urlPath);
    if (!template) return [`${method} ${urlPath}: not in the document`];
    const [res, ptr] = this.response(method, template, status);
    if (!res) return [`${method} ${template}: status ${status} not documented`];
    const problems = [];
    for (const [name, h] of Object.entries(res.headers || {})) {
      const header = this.deref(h);
      const value = headers.get(name);
      if (value === null) {
        if (name === 'Request-Id') problems.push(`${method} ${template} ${status}: no Request-Id`);
        continue;
      }
      const ok = this.validator(`${ptr}/headers/${name.replace(/~/g, '~0')}`, h, header.schema);
      if (!ok(value)) problems.push(`${name}: ${value} ${this.ajv.errorsText(ok.errors)}`);
    }
    const media = res.content && res.content['application/json'];
    if (!media) return problems;
    let body;
    try { body = JSON.parse(text); } catch { return [...problems, `body is not JSON: ${text}`]; }
    const validate = this.validator(`${ptr}/content/application~1json/schema`, res, media.schema);
    if (!validate(body)) {
      problems.push(`${method} ${template} ${status}: ${this.ajv.errorsText(validate.errors)}` +
                    ` in ${text.slice(0, 400)}`);
    }
    return problems;
  }

  validator(ptr, owner, schema) {
    // Schemas inside components/responses are reached through their own pointer.
    const key = owner && owner.$ref ? owner.$ref : ptr;
    if (!this.validators.has(key)) {
      this.validators.set(key, this.ajv.compile({ $ref: `${DOC_ID}${ptr}` }));
    }
    void schema;
    return this.validators.get(key);
  }

  /** The request body schema of an operation, dereferenced, or null. */
  requestSchema(op) {
    const body = op.requestBody && op.requestBody.content &&
                 op.requestBody.content['application/json'];
    return body ? this.deref(body.schema) : null;
  }
}

/** A small deterministic PRNG (mulberry32), so a failing run can be repeated. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value valid under `schema` (the subset the document uses). */
function validValue(api, schema, rand) {
  schema = api.deref(schema);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[Math.floor(rand() * schema.enum.length)];
  if (schema.oneOf) return validValue(api, schema.oneOf[0], rand);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer': {
      const lo = schema.minimum ?? 1;
      const hi = Math.min(schema.maximum ?? lo + 100000, lo + 100000);
      return lo + Math.floor(rand() * (hi - lo + 1));
    }
    case 'boolean': return rand() < 0.5;
    case 'string':
      if (schema.pattern === '^[A-Za-z]{3}$') return ['usd', 'EUR', 'gbp', 'jpy'][Math.floor(rand() * 4)];
      return 'x'.repeat(Math.max(1, Math.min(schema.maxLength ?? 8, 8)));
    case 'object': {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties || {})) {
        if ((schema.required || []).includes(k) || rand() < 0.5) out[k] = validValue(api, v, rand);
      }
      if (!schema.properties && schema.additionalProperties) out.k = 'v';
      return out;
    }
    case 'array': return [];
    default: return null;
  }
}

/** Values of every JSON type and edge, to put where the schema wants something else. */
const WRONG_VALUES = [
  null, true, false, 0, -1, 1.5, 2 ** 53, 100000000, 99999999, '', 'x', '1099', 'x'.repeat(2000),
  '\u0000', '\u00e9\u{1F600}', [], [1], {}, { a: 'b' }, { nested: { deeper: [{}] } },
];

/** The type a schema wants (the first of a type list), through $ref and oneOf. */
function typeOf(api, schema) {
  schema = api.deref(schema);
  if (schema.oneOf) return typeOf(api, schema.oneOf[0]);
  return Array.isArray(schema.type) ? schema.type[0] : schema.type;
}

/**
 * Values at and just past the limits `schema` declares: minimum and maximum
 * (and one beyond each), lengths at and one past minLength and maxLength,
 * a value outside an enum or a pattern, arrays at and past minItems and
 * maxItems or with items of the wrong type, objects past maxProperties or
 * with keys and values past their limits. Some are valid, some not: the
 * engine must answer each without a 500.
 */
function boundaryValues(api, schema, rand) {
  schema = api.deref(schema);
  const out = [];
  for (const alt of schema.oneOf || []) out.push(...boundaryValues(api, alt, rand));
  if (schema.enum) out.push(String(schema.enum[0]) + '_x', String(schema.enum[0]).toUpperCase());
  switch (typeOf(api, schema)) {
    case 'integer':
      for (const v of [schema.minimum, schema.maximum]) {
        if (v === undefined) continue;
        out.push(v - 1, v, v + 1, v + 0.5);
      }
      out.push(-(2 ** 63), 2 ** 63, Number.MAX_SAFE_INTEGER + 2, 1e300, -0);
      break;
    case 'string':
      for (const n of [schema.minLength, schema.maxLength]) {
        if (n === undefined) continue;
        for (const len of [n - 1, n, n + 1]) if (len >= 0) out.push('a'.repeat(len));
      }
      if (schema.maxLength !== undefined) out.push('\u00e9'.repeat(schema.maxLength));
      if (schema.pattern) out.push('-', ' x ', 'A'.repeat(3) + '!', '\u0001');
      break;
    case 'array': {
      const item = schema.items ? validValue(api, schema.items, rand) : 'x';
      for (const n of [schema.minItems, schema.maxItems]) {
        if (n === undefined) continue;
        for (const len of [n - 1, n, n + 1]) if (len >= 0) out.push(Array(len).fill(item));
      }
      out.push([null], [1], [{}], [[]], [item, item], ['']);
      if (schema.items) for (const v of boundaryValues(api, schema.items, rand)) out.push([v]);
      break;
    }
    case 'object': {
      const names = api.deref(schema.propertyNames || {});
      const values = schema.additionalProperties && schema.additionalProperties !== true
        ? api.deref(schema.additionalProperties) : null;
      if (values) {
        const max = schema.maxProperties ?? 50;
        for (const n of [max, max + 1]) {
          const o = {};
          for (let i = 0; i < n; i++) o['k' + i] = 'v';
          out.push(o);
        }
        for (const len of [names.maxLength, (names.maxLength || 40) + 1]) {
          if (len !== undefined) out.push({ ['k'.repeat(len)]: 'v' });
        }
        out.push({ '': 'v' }, { 'a[b]': 'v' }, { k: null }, { k: 1 }, { k: {} }, { k: [] });
        for (const v of boundaryValues(api, values, rand)) out.push({ k: v });
      }
      // An object with declared fields: each field at its own limits.
      const base = schema.properties ? validValue(api, schema, rand) : null;
      for (const [field, sub] of Object.entries(schema.properties || {})) {
        for (const v of boundaryValues(api, sub, rand)) out.push({ ...base, [field]: v });
      }
      break;
    }
    default:
      break;
  }
  return out;
}

/**
 * Bodies derived from a request schema: one valid; each field given every
 * wrong type, its boundary values, then left out; an unknown field; the
 * empty object; and only the required fields.
 */
function bodies(api, schema, rand) {
  const out = [];
  if (!schema) return out;
  const valid = validValue(api, schema, rand);
  out.push(valid);
  for (const [field, sub] of Object.entries(schema.properties || {})) {
    for (const wrong of WRONG_VALUES) out.push({ ...valid, [field]: wrong });
    for (const edge of boundaryValues(api, sub, rand)) out.push({ ...valid, [field]: edge });
    const without = { ...valid };
    delete without[field];
    out.push(without);
  }
  out.push({ ...valid, unknown_field: 1 });
  out.push({ ...valid, 'nested[field]': 'x' });
  out.push({});
  const requiredOnly = {};
  for (const k of schema.required || []) requiredOnly[k] = valid[k];
  out.push(requiredOnly);
  return out;
}

/** Query values for one parameter: the fixed odd ones and its schema's limits. */
function queryValues(api, param, rand) {
  const values = [...QUERY_VALUES];
  if (param.schema) {
    for (const v of boundaryValues(api, param.schema, rand)) {
      if (typeof v === 'string' || typeof v === 'number') values.push(String(v));
    }
  }
  return [...new Set(values)];
}

const RAW_BODIES = ['', ' ', 'null', '[]', '"s"', '1', '{', '{"a":', '{"a":1,}', '\u0000',
                    '['.repeat(40) + ']'.repeat(40), '{"metadata":' + '{"a":'.repeat(30) + '1' +
                    '}'.repeat(31)];

const PATH_VALUES = ['x', 'pi_000000000000000000000000', 're_000000000000000000000000',
                     'plink_000000000000000000000000', '0', '-1', '99999999999999999999',
                     '%00', '%2F', 'a'.repeat(300), '%C3%A9', '.x.'];

const QUERY_VALUES = ['', '0', '-1', '1', '100', '101', 'abc', '1.5', '99999999999999999999',
                      'pi_x', '%00'];

module.exports = { OpenApi, prng, validValue, boundaryValues, bodies, queryValues, RAW_BODIES,
                   PATH_VALUES, QUERY_VALUES };
