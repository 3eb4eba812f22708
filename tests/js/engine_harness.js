// The real engine for node tests: a scratch database on the test cluster, the
// sandbox PSP, and paymentsd, all started as child processes on free ports.
// Environment (set by tests/CMakeLists.txt): PAYMENTSD_BIN, PSP_SANDBOX_BIN,
// PAYMENTSCTL_BIN, PAYMENTS_TEST_DATABASE_URL.
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const { waitFor } = require('./sandbox_helpers');

const WAIT_MS = 20000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (run through ctest or ./dev.sh test)`);
  return value;
}

/** Starts a program with --port 0 --port-file; collects everything it prints. */
async function startProgram(workDir, name, bin, args, env, port = 0) {
  const portFile = path.join(workDir, name + '.port');
  fs.rmSync(portFile, { force: true });
  const child = spawn(bin, ['--port', String(port), '--port-file', portFile, ...args],
                      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { child, output: '' };
  child.stdout.on('data', (d) => { proc.output += d.toString('latin1'); });
  child.stderr.on('data', (d) => { proc.output += d.toString('latin1'); });
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${proc.output}`);
      return fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').endsWith('\n');
    }, WAIT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not start: ${err.message}\n${proc.output}`);
  }
  proc.port = Number(fs.readFileSync(portFile, 'utf8').trim());
  proc.stop = async (signal = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  };
  return proc;
}

/**
 * A scratch database, migrated, with merchants named `names`; answers their
 * keys (random, or those given in `keys` by merchant name).
 */
function makeDatabase(prefix, names, given = {}) {
  const admin = required('PAYMENTS_TEST_DATABASE_URL');
  const name = `t_${prefix}_` + crypto.randomBytes(6).toString('hex');
  execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${name}`]);
  const url = admin.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  execFileSync(required('PAYMENTSCTL_BIN'), ['migrate'],
               { env: { ...process.env, PAYMENTS_DATABASE_URL: url } });
  const keys = {};
  for (const merchant of names) {
    keys[merchant] = given[merchant] ||
                     `sk_test_${merchant}_` + crypto.randomBytes(12).toString('hex');
    execFileSync(required('PAYMENTSCTL_BIN'), ['merchant', 'ensure', '--name', merchant],
                 { env: { ...process.env, PAYMENTS_DATABASE_URL: url,
                          PAYMENTS_API_KEY: keys[merchant] } });
  }
  return {
    url,
    keys,
    query(sql) {
      return execFileSync('psql', [url, '-tAqc', sql]).toString().trim();
    },
    drop() { execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]); },
  };
}

/**
 * The sandbox PSP and the engine on one scratch database. `merchants` names
 * the merchants to create; `engineArgs` are extra paymentsd flags, `engineEnv`
 * extra environment (e.g. PAYMENTS_ADMIN_TOKEN).
 * Answers { db, sandbox, engine, url, sandboxUrl, sandboxSecret, api(), restartEngine(), stop() }.
 */
async function startStack({ prefix = 'js', merchants = ['shop'], engineArgs = [],
                           engineEnv = {} } = {}) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-stack-`));
  const sandboxSecret = 'sk_test_sbx_' + crypto.randomBytes(12).toString('hex');
  const webhookSecret = 'whsec_' + crypto.randomBytes(12).toString('hex');
  const db = makeDatabase(prefix, merchants);
  const stack = { db, workDir, sandboxSecret, engineArgs };
  // The sandbox's webhooks go to the engine, whose port is known only later:
  // the sandbox retries until it is up.
  const enginePort = await freePort();
  stack.sandbox = await startProgram(workDir, 'psp-sandbox', required('PSP_SANDBOX_BIN'), [
    '--secret-key', sandboxSecret,
    '--webhook-url', `http://127.0.0.1:${enginePort}/v1/webhooks/sandbox`,
    '--webhook-secret', webhookSecret,
    '--webhook-backoff-base-ms', '100', '--webhook-backoff-max-ms', '500',
  ], {});
  stack.sandboxUrl = `http://127.0.0.1:${stack.sandbox.port}`;
  stack.startEngine = async () => {
    stack.engine = await startProgram(workDir, 'paymentsd', required('PAYMENTSD_BIN'), [
      '--psp-base-url', stack.sandboxUrl, ...engineArgs,
    ], {
      PAYMENTS_DATABASE_URL: db.url,
      PAYMENTS_PSP_SECRET_KEY: sandboxSecret,
      PAYMENTS_WEBHOOK_SECRET: webhookSecret,
      ...engineEnv,
    }, enginePort);
    stack.url = `http://127.0.0.1:${stack.engine.port}`;
    const until = Date.now() + WAIT_MS;
    for (;;) {
      const res = await fetch(`${stack.url}/readyz`).catch(() => null);
      if (res && res.status === 200) break;
      if (Date.now() > until) throw new Error('engine not ready:\n' + stack.engine.output);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await stack.startEngine();
  } catch (err) {
    await stack.sandbox.stop();
    db.drop();
    throw err;
  }
  stack.api = async (merchant, method, urlPath, body, headers = {}) => {
    const res = await fetch(stack.url + urlPath, {
      method,
      headers: { Authorization: `Bearer ${db.keys[merchant]}`,
                 ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
                 ...headers },
      body: body !== undefined ? (typeof body === 'string' ? body : JSON.stringify(body))
                               : undefined,
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON: left null */ }
    return { status: res.status, headers: res.headers, text, json };
  };
  /** Pays a PSP intent at the sandbox with a card, as the browser would. */
  stack.pay = async (pspReference, card = '4242424242424242') => {
    const form = new URLSearchParams({
      'payment_method_data[type]': 'card',
      'payment_method_data[card][number]': card,
      'payment_method_data[card][exp_month]': '12',
      'payment_method_data[card][exp_year]': '2034',
      'payment_method_data[card][cvc]': '123',
    });
    const res = await fetch(`${stack.sandboxUrl}/v1/payment_intents/${pspReference}/confirm`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sandboxSecret}`,
                 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    return { status: res.status, json: await res.json() };
  };
  stack.stop = async () => {
    if (stack.engine) await stack.engine.stop();
    if (stack.sandbox) await stack.sandbox.stop();
    db.drop();
  };
  return stack;
}

/** Polls `predicate` (async allowed) until it answers truthy; fails the test after `ms`. */
async function until(what, predicate, ms = WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * A recording HTTP proxy in front of the engine (set `upstreamPort` once the
 * engine's port is known): it keeps each request's method, URL, raw headers
 * and body and each answer, as bytes on the wire, in `records`. The browser
 * tests use it to prove no card number reaches the engine.
 */
function startProxy() {
  const records = [];
  const state = { records, upstreamPort: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record = { method: req.method, url: req.url, headers: req.rawHeaders.slice(),
                       body: body.toString('latin1'), status: 0, responseHeaders: [],
                       response: '' };
      records.push(record);
      const upstream = http.request(
        { host: '127.0.0.1', port: state.upstreamPort, method: req.method, path: req.url,
          headers: req.headers },
        (up) => {
          const out = [];
          up.on('data', (c) => out.push(c));
          up.on('end', () => {
            const answer = Buffer.concat(out);
            record.status = up.statusCode;
            record.responseHeaders = up.rawHeaders.slice();
            record.response = answer.toString('latin1');
            res.writeHead(up.statusCode, up.headers);
            res.end(answer);
          });
        });
      upstream.on('error', (err) => {
        record.status = 502;
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('proxy: ' + err.message);
      });
      upstream.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.port = server.address().port;
      state.url = `http://127.0.0.1:${state.port}`;
      state.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
      resolve(state);
    });
  });
}

/** A free TCP port on 127.0.0.1 (bound then released). */
function freePort() {
  const net = require('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

module.exports = {
  startStack, startProgram, makeDatabase, freePort, startProxy, required, until, WAIT_MS,
};
