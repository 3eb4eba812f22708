#!/usr/bin/env node
// The crash storm (issue 13, with Adyen issue 14 and PayPal issue 15):
// merchants' clients run mixed payment flows, spread over the Stripe-format,
// the Adyen and the PayPal account,
// against the real engine and the real sandbox PSP, retrying every request
// with the same Idempotency-Key until it gets a final answer, while the
// engine is SIGKILLed (and restarted, sometimes at a failpoint), PostgreSQL
// restarts with `-m immediate` and the sandbox runs fault phases; with
// `--outage on`, one PSP (rotating, seeded) is fully down for a while and
// creates are routed over every PSP (POST /v1/routing), so they fail over. After a
// settle period it checks the invariants of docs/reliability.md per PSP and
// prints PASS/FAIL for each; exit code 1 on any FAIL, 2 on a set-up failure.
//
//   node tests/storm/storm.js [--seconds N | --minutes N] [--seed S] [--clients C]
//                             [--psps stripe,adyen,paypal] [--outage on|off]
//                             [--adyen-probes on|off]
//                             [--build DIR] [--database-url ADMIN_URL] [--work DIR]
//
// Every random choice (flows, PSPs, amounts, cards, kill moments, failpoints,
// fault phases) comes from a PRNG seeded by --seed: one stream for the chaos
// schedule and one per client, so a seed replays the same plan. The OS's
// timing is not replayed: where a kill lands inside a request varies.
'use strict';

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const crypto = require('node:crypto');
const adyen = require('./adyen.js');
const paypal = require('./paypal.js');

// ---- options -------------------------------------------------------------------

const ROOT = path.resolve(__dirname, '..', '..');

function parseArgs(argv) {
  const o = {
    seconds: 60,
    seed: null,
    clients: 8,
    build: process.env.PAYMENTS_BUILD_DIR || path.join(ROOT, 'build'),
    databaseUrl: null,
    work: null,
    settleSeconds: 90,
    opDeadlineSeconds: 90,
    killMinMs: 3000,
    killMaxMs: 9000,
    pgRestartEverySeconds: 75,
    psps: ['stripe', 'adyen', 'paypal'],
    adyenProbes: true,
    outage: false,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const num = (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) usage(`${a}: want a positive number, got ${v}`);
      return n;
    };
    if (a === '--seconds') o.seconds = num(next());
    else if (a === '--minutes') o.seconds = num(next()) * 60;
    else if (a === '--seed') o.seed = String(next());
    else if (a === '--clients') o.clients = Math.floor(num(next()));
    else if (a === '--build') o.build = path.resolve(next());
    else if (a === '--database-url') o.databaseUrl = next();
    else if (a === '--work') o.work = path.resolve(next());
    else if (a === '--settle-seconds') o.settleSeconds = num(next());
    else if (a === '--keep') o.keep = true;
    else if (a === '--kill-interval-ms') {
      const [lo, hi] = next().split('..').map(Number);
      if (!(lo > 0 && hi >= lo)) usage('--kill-interval-ms wants LO..HI');
      o.killMinMs = lo;
      o.killMaxMs = hi;
    } else if (a === '--pg-restart-every-seconds') o.pgRestartEverySeconds = num(next());
    else if (a === '--adyen-probes') {
      const v = next();
      if (v !== 'on' && v !== 'off') usage('--adyen-probes wants on or off');
      o.adyenProbes = v === 'on';
    } else if (a === '--outage') {
      const v = next();
      if (v !== 'on' && v !== 'off') usage('--outage wants on or off');
      o.outage = v === 'on';
    } else if (a === '--psps') {
      o.psps = [...new Set(next().split(',').map((x) => x.trim()).filter(Boolean))];
      if (o.psps.length === 0 || o.psps.some((x) => !PSPS.includes(x))) usage(`--psps wants a list of ${PSPS.join(', ')}`);
    }
    else if (a === '-h' || a === '--help') usage(null);
    else usage(`unknown argument ${a}`);
  }
  if (o.seed === null) o.seed = String(crypto.randomInt(1, 2 ** 31));
  if (o.outage && o.psps.length < 2) usage('--outage on needs at least two PSPs to fail over between');
  return o;
}

function usage(err) {
  const text = fs.readFileSync(__filename, 'utf8').split('\n').slice(1)
    .filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
  if (err) console.error(`storm: ${err}`);
  console.error(text);
  console.error('More options: --settle-seconds N, --kill-interval-ms LO..HI, --keep (the work ' +
    'folder, deleted after a PASS), ' +
    '--pg-restart-every-seconds N, --psps (default stripe,adyen,paypal), --outage (default off: ' +
    'with on, one PSP at a time is down at the sandbox and creates are routed with failover), --adyen-probes (default on: also ' +
    'flows the engine is known to mis-answer, see docs/reliability.md). Without --database-url a private PostgreSQL cluster is ' +
    'started (pg_ctl) and restarted during the storm; with it, no PostgreSQL restarts.');
  process.exit(err ? 2 : 0);
}

// The PSP accounts the engine runs with (as `./dev.sh run` starts it): the
// Stripe-format one named `stripe` (alias `sandbox`), the Adyen and the
// PayPal one.
const PSPS = ['stripe', 'adyen', 'paypal'];

// The programs: PAYMENTSD_BIN, PSP_SANDBOX_BIN, PAYMENTSCTL_BIN, else under --build.
const BIN_ENV = { paymentsd: 'PAYMENTSD_BIN', 'psp-sandbox': 'PSP_SANDBOX_BIN', paymentsctl: 'PAYMENTSCTL_BIN' };
function binPath(opt, name) {
  return process.env[BIN_ENV[name]] || path.join(opt.build, 'apps', name);
}

// ---- seeded randomness -----------------------------------------------------------

function hashSeed(s) {
  const h = crypto.createHash('sha256').update(String(s)).digest();
  return [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
}

// sfc32: small, fast, good enough for test plans.
class Rng {
  constructor(seed, stream) {
    [this.a, this.b, this.c, this.d] = hashSeed(`${seed}/${stream}`);
    for (let i = 0; i < 12; i++) this.next();
  }
  next() {
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  int(lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  chance(p) { return this.next() < p; }
  pick(list) { return list[this.int(0, list.length - 1)]; }
  weighted(pairs) {
    const total = pairs.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [v, w] of pairs) { if ((x -= w) < 0) return v; }
    return pairs[pairs.length - 1][0];
  }
  shuffle(list) {
    const l = list.slice();
    for (let i = l.length - 1; i > 0; i--) { const j = this.int(0, i); [l[i], l[j]] = [l[j], l[i]]; }
    return l;
  }
}

// ---- small helpers -----------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Date.now();
const T0 = now();
const stamp = () => ((now() - T0) / 1000).toFixed(1).padStart(6);
let quiet = false;
function log(msg) { if (!quiet) console.log(`[storm ${stamp()}s] ${msg}`); }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, ...opts }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const isRoot = process.getuid && process.getuid() === 0;
const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
function asPg(cmd, args) {
  return isRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
}

function withDb(url, db) {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}

// Runs one SQL query through psql and answers its rows as objects.
async function sqlRows(url, query) {
  const wrapped = `SELECT coalesce(json_agg(t), '[]'::json) FROM (${query}) t`;
  for (let attempt = 0; ; attempt++) {
    const r = await run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', wrapped]);
    if (r.code === 0) return JSON.parse(r.stdout.trim() || '[]');
    if (attempt >= 20) throw new Error(`psql failed: ${r.stderr.trim()}\n${query}`);
    await sleep(500);
  }
}
async function sqlExec(url, statement) {
  const r = await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', statement]);
  if (r.code !== 0) throw new Error(`psql failed: ${r.stderr.trim()}`);
}

// ---- HTTP ---------------------------------------------------------------------------

async function http(method, url, { headers = {}, json, form, timeoutMs = 25000 } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (form !== undefined) {
    init.body = new URLSearchParams(form).toString();
    init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch { body = null; }
    return { status: res.status, text, body };
  } catch (e) {
    return { status: 0, text: String(e && e.cause ? e.cause.code || e.cause : e), body: null };
  }
}

// ---- the world: PostgreSQL, sandbox, engine -------------------------------------------

class World {
  constructor(opt) {
    this.opt = opt;
    this.work = opt.work || fs.mkdtempSync(path.join(os.tmpdir(), 'payments-storm-'));
    fs.mkdirSync(this.work, { recursive: true });
    fs.chmodSync(this.work, 0o755);
    this.token = (p) => p + crypto.randomBytes(24).toString('hex');
    this.apiKey = this.token('sk_test_');
    this.adminToken = this.token('adm_');
    this.webhookSecret = this.token('whsec_');
    this.sandboxSecret = this.token('sk_test_sbx_');
    this.sandboxPublishable = this.token('pk_test_sbx_');
    this.adyenApiKey = this.token('AQE_storm_');
    this.adyenClientKey = this.token('test_');
    this.adyenHmacKey = crypto.randomBytes(32).toString('hex');
    this.adyenMerchant = 'StormMerchantECOM';
    this.paypalClientId = this.token('Ab');
    this.paypalClientSecret = this.token('Eb');
    this.paypalWebhookId = `WH${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
    this.paypal = null; // a PayPalClient once the sandbox runs
    // Every Adyen notification passes through the storm's recorder on its
    // way to the engine: the PSP's side of every payment, for the checks.
    this.notifications = new adyen.NotificationRecorder(() => this.engineUrl('/v1/webhooks/adyen'), T0);
    this.engine = null;          // child process
    this.engineFailpoint = null; // failpoint of the running engine
    this.engineStopping = false;
    this.lock = Promise.resolve();
    this.dropTypes = new Set();
    this.counts = { kills: 0, restarts: 0, failpointStarts: {}, failpointFired: {}, pgRestarts: 0,
      faultPhases: {}, unexpectedExits: 0, outages: [] };
    this.ownCluster = !opt.databaseUrl;
  }

  async startPostgres() {
    if (!this.ownCluster) {
      this.adminUrl = this.opt.databaseUrl;
      return;
    }
    this.pgData = path.join(this.work, 'pg');
    fs.mkdirSync(this.pgData, { recursive: true });
    if (isRoot) await run('chown', ['postgres:postgres', this.pgData]);
    fs.chmodSync(this.pgData, 0o700);
    const init = await asPg(path.join(PG_BIN, 'initdb'), ['-D', this.pgData, '-U', 'postgres',
      '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    this.pgPort = await freePort();
    this.pgOptions = `-p ${this.pgPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' ` +
      '-c max_connections=100 -c fsync=off';
    const r = await asPg(path.join(PG_BIN, 'pg_ctl'), ['-D', this.pgData, '-l',
      path.join(this.pgData, 'server.log'), '-w', '-t', '60', '-o', this.pgOptions, 'start']);
    if (r.code !== 0) throw new Error(`pg_ctl start failed: ${r.stderr}${r.stdout}`);
    this.adminUrl = `postgresql://postgres@127.0.0.1:${this.pgPort}/postgres`;
  }

  async restartPostgres() {
    if (!this.ownCluster) return false;
    const r = await asPg(path.join(PG_BIN, 'pg_ctl'), ['-D', this.pgData, '-l',
      path.join(this.pgData, 'server.log'), '-w', '-t', '60', '-m', 'immediate', '-o',
      this.pgOptions, 'restart']);
    if (r.code !== 0) throw new Error(`pg_ctl restart failed: ${r.stderr}${r.stdout}`);
    this.counts.pgRestarts++;
    return true;
  }

  // Stops the private cluster and deletes its data (kept with --keep, for a
  // post-mortem: `pg_ctl -D WORK/pg start`), keeping its log.
  async stopPostgres(keep = false) {
    if (!this.ownCluster || !this.pgData) return;
    await asPg(path.join(PG_BIN, 'pg_ctl'), ['-D', this.pgData, '-m', 'fast', '-w', 'stop']);
    try {
      fs.copyFileSync(path.join(this.pgData, 'server.log'), path.join(this.work, 'postgresql.log'));
    } catch { /* no log */ }
    if (keep) return;
    fs.rmSync(this.pgData, { recursive: true, force: true });
    this.pgData = null;
  }

  async createDatabase() {
    this.dbName = `storm_${this.opt.seed.replace(/[^a-zA-Z0-9]/g, '_').slice(0, 20)}_${crypto.randomBytes(4).toString('hex')}`;
    await sqlExec(this.adminUrl, `CREATE DATABASE ${this.dbName}`);
    this.dbUrl = withDb(this.adminUrl, this.dbName);
    const env = { ...process.env, PAYMENTS_DATABASE_URL: this.dbUrl, PAYMENTS_API_KEY: this.apiKey };
    const ctl = binPath(this.opt, 'paymentsctl');
    for (const args of [['migrate'], ['merchant', 'ensure', '--name', 'storm']]) {
      const r = await run(ctl, args, { env });
      if (r.code !== 0) throw new Error(`paymentsctl ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
    }
  }

  async dropDatabase() {
    if (!this.dbName || this.ownCluster) return;
    await run('psql', ['-X', '-q', '-d', this.adminUrl, '-c',
      `DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`]);
  }

  async startSandbox() {
    this.enginePort = await freePort();
    await this.notifications.start();
    const portFile = path.join(this.work, 'sandbox.port');
    const env = {
      ...process.env,
      SANDBOX_PORT: '0',
      SANDBOX_PORT_FILE: portFile,
      SANDBOX_SECRET_KEY: this.sandboxSecret,
      SANDBOX_PUBLISHABLE_KEY: this.sandboxPublishable,
      SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${this.enginePort}/v1/webhooks/stripe`,
      SANDBOX_WEBHOOK_SECRET: this.webhookSecret,
      SANDBOX_WEBHOOK_BACKOFF_BASE_MS: '200',
      SANDBOX_WEBHOOK_BACKOFF_MAX_MS: '3000',
      SANDBOX_WEBHOOK_ATTEMPTS_MAX: '100',
      SANDBOX_OBJECTS_MAX: '1000000',
      SANDBOX_SEED: String(hashSeed(`${this.opt.seed}/sandbox`)[0]),
      SANDBOX_ADYEN_API_KEY: this.adyenApiKey,
      SANDBOX_ADYEN_CLIENT_KEY: this.adyenClientKey,
      SANDBOX_ADYEN_HMAC_KEY: this.adyenHmacKey,
      SANDBOX_ADYEN_MERCHANT_ACCOUNT: this.adyenMerchant,
      SANDBOX_ADYEN_WEBHOOK_URL: this.notifications.url,
      SANDBOX_PAYPAL_CLIENT_ID: this.paypalClientId,
      SANDBOX_PAYPAL_CLIENT_SECRET: this.paypalClientSecret,
      SANDBOX_PAYPAL_WEBHOOK_ID: this.paypalWebhookId,
      SANDBOX_PAYPAL_WEBHOOK_URL: `http://127.0.0.1:${this.enginePort}/v1/webhooks/paypal`,
    };
    const logFd = fs.openSync(path.join(this.work, 'psp-sandbox.log'), 'a');
    this.sandbox = spawn(binPath(this.opt, 'psp-sandbox'), [],
      { env, stdio: ['ignore', logFd, logFd] });
    const deadline = now() + 30000;
    while (now() < deadline) {
      try {
        const p = Number(fs.readFileSync(portFile, 'utf8').trim());
        if (p > 0) {
          this.sandboxUrl = `http://127.0.0.1:${p}`;
          this.paypal = new paypal.PayPalClient(http, `${this.sandboxUrl}/paypal`, this.paypalClientId,
            this.paypalClientSecret);
          return;
        }
      } catch { /* not yet */ }
      await sleep(50);
    }
    throw new Error('psp-sandbox did not start; see ' + path.join(this.work, 'psp-sandbox.log'));
  }

  engineEnv(failpoint) {
    const env = {
      ...process.env,
      PAYMENTS_DATABASE_URL: this.dbUrl,
      PAYMENTS_PORT: String(this.enginePort),
      PAYMENTS_ADMIN_TOKEN: this.adminToken,
      PAYMENTS_WEBHOOK_SECRET: this.webhookSecret,
      PAYMENTS_PSP_BASE_URL: this.sandboxUrl,
      PAYMENTS_PSP_SECRET_KEY: this.sandboxSecret,
      PAYMENTS_PSP_PUBLISHABLE_KEY: this.sandboxPublishable,
      // Both PSP accounts, named as `./dev.sh run` names them.
      PAYMENTS_PSP: 'stripe',
      PAYMENTS_PSP_ALIASES: 'sandbox',
      PAYMENTS_ADYEN_BASE_URL: `${this.sandboxUrl}/adyen/checkout/v71`,
      PAYMENTS_ADYEN_API_KEY: this.adyenApiKey,
      PAYMENTS_ADYEN_CLIENT_KEY: this.adyenClientKey,
      PAYMENTS_ADYEN_HMAC_KEY: this.adyenHmacKey,
      PAYMENTS_ADYEN_MERCHANT_ACCOUNT: this.adyenMerchant,
      PAYMENTS_ADYEN_SDK_URL: `${this.sandboxUrl}/adyen/sdk/adyen.js`,
      PAYMENTS_STORAGE_CONNECTIONS: '4',
      PAYMENTS_STARTUP_DB_WAIT_MS: '60000',
      // Missed webhooks are found by the stuck-intent poll; at its defaults
      // (10 min idle) it would never run within a storm.
      PAYMENTS_STUCK_INTENT_MS: '5000',
      PAYMENTS_STUCK_POLL_MS: '2000',
      PAYMENTS_RECONCILIATION_TIME: 'off',
      // Routing orphans a kill or an outage left are found by the orphan
      // rescan; at its defaults (60 s grace, 10 s passes) a storm would end
      // before the last ones are taken.
      PAYMENTS_ORPHAN_SCAN_MS: '1000',
      PAYMENTS_ORPHAN_GRACE_MS: '5000',
      // One merchant runs every client flat out: its API token bucket (a
      // fairness limit between merchants) would make the storm measure the
      // rate limiter. Clients still retry a 429 like any retryable answer.
      PAYMENTS_API_RATE_BURST: '100000',
      PAYMENTS_API_RATE_REFILL_MS: '1',
      PAYMENTS_LOG_LEVEL: 'warn',
    };
    if (this.opt.psps.includes('paypal')) {
      // The PayPal account (configured when its client id is set); its
      // webhooks are verified offline against the sandbox's certificate.
      Object.assign(env, {
        PAYMENTS_PAYPAL_BASE_URL: `${this.sandboxUrl}/paypal`,
        PAYMENTS_PAYPAL_CLIENT_ID: this.paypalClientId,
        PAYMENTS_PAYPAL_CLIENT_SECRET: this.paypalClientSecret,
        PAYMENTS_PAYPAL_WEBHOOK_ID: this.paypalWebhookId,
        PAYMENTS_PAYPAL_SANDBOX_CERT_URL: this.sandboxUrl,
        // Withdrawals are read from Transaction Search on this timer (and
        // before each reconciliation).
        PAYMENTS_PAYPAL_PAYOUT_POLL_S: '5',
      });
    }
    delete env.PAYMENTS_FAILPOINT;
    if (failpoint) env.PAYMENTS_FAILPOINT = failpoint;
    return env;
  }

  // Every change of the engine's life (start, kill, restart) runs under this
  // one lock, so two never overlap (two engines on one port).
  locked(fn) {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch((e) => log(`engine control failed: ${e.message}`));
    return next;
  }

  // Starts the engine and waits until it answers /readyz (call under the lock).
  async startEngineLocked(failpoint = null) {
    const logFd = fs.openSync(path.join(this.work, 'paymentsd.log'), 'a');
    fs.writeSync(logFd, `\n==== storm: engine start at ${stamp()}s${failpoint ? ` failpoint=${failpoint}` : ''}\n`);
    const child = spawn(binPath(this.opt, 'paymentsd'), [],
      { env: this.engineEnv(failpoint), stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    this.engine = child;
    this.engineFailpoint = failpoint;
    if (failpoint) this.counts.failpointStarts[failpoint] = (this.counts.failpointStarts[failpoint] || 0) + 1;
    child.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      child.exitInfo = { code, signal };
      resolve(child.exitInfo);
    }));
    child.exited.then(({ code, signal }) => {
      if (child.killedByStorm) return;
      if (failpoint && code === 137) {
        this.counts.failpointFired[failpoint] = (this.counts.failpointFired[failpoint] || 0) + 1;
        log(`engine died at failpoint ${failpoint}`);
      } else {
        this.counts.unexpectedExits++;
        log(`engine exited unexpectedly (code ${code}, signal ${signal})`);
      }
      // A failpoint fired (or a crash): bring it back, as a supervisor would.
      setTimeout(() => this.locked(async () => {
        if (this.engineStopping || (this.engine && !this.engine.exitInfo)) return;
        this.counts.restarts++;
        await this.startEngineLocked(null);
      }), 200);
    });
    const deadline = now() + 60000;
    while (now() < deadline) {
      if (child.exitInfo) return false; // died while starting (failpoint or crash)
      const r = await http('GET', `http://127.0.0.1:${this.enginePort}/readyz`, { timeoutMs: 2000 });
      if (r.status === 200) return true;
      await sleep(100);
    }
    throw new Error('paymentsd did not become ready; see ' + path.join(this.work, 'paymentsd.log'));
  }

  async killLocked() {
    const child = this.engine;
    if (!child || child.exitInfo) return false;
    child.killedByStorm = true;
    child.kill('SIGKILL');
    await child.exited;
    this.counts.kills++;
    return true;
  }

  startEngine(failpoint = null) { return this.locked(() => this.startEngineLocked(failpoint)); }

  // SIGKILL (when up), a pause, and a start (maybe with a failpoint).
  killAndRestart(pauseMs, failpoint) {
    return this.locked(async () => {
      const killed = await this.killLocked();
      await sleep(pauseMs);
      this.counts.restarts++;
      await this.startEngineLocked(failpoint);
      return killed;
    });
  }

  // Up, without a failpoint.
  ensureEngineUp() {
    return this.locked(async () => {
      if (this.engine && !this.engine.exitInfo && !this.engineFailpoint) return;
      await this.killLocked();
      this.counts.restarts++;
      await this.startEngineLocked(null);
    });
  }

  async stopAll() {
    this.engineStopping = true;
    try { await this.lock; } catch { /* ignore */ }
    for (const child of [this.engine, this.sandbox]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.killedByStorm = true;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10000);
        await new Promise((r) => child.on('exit', r));
        clearTimeout(t);
      }
    }
    if (this.notifications.server) this.notifications.server.closeAllConnections();
    await this.notifications.stop();
  }

  // The next `count` events of `type` are never delivered.
  async dropWebhooks(type, count) {
    const r = await http('POST', this.sandboxApi('/_sandbox/webhook_drops'), {
      headers: { Authorization: `Bearer ${this.sandboxSecret}` }, form: { type, count: String(count) },
    });
    if (r.status !== 200) throw new Error(`webhook_drops answered ${r.status}: ${r.text.slice(0, 200)}`);
    this.dropTypes.add(type);
  }

  async stopDroppingWebhooks() {
    for (const type of this.dropTypes) await this.dropWebhooks(type, 0);
  }

  // The events the sandbox dropped for good, from its log.
  droppedEventIds() {
    const ids = new Set();
    let text = '';
    try { text = fs.readFileSync(path.join(this.work, 'psp-sandbox.log'), 'utf8'); } catch { return ids; }
    for (const line of text.split('\n')) {
      if (!line.includes('webhook dropped by test control')) continue;
      try { ids.add(JSON.parse(line).event); } catch { /* not a log line */ }
    }
    return ids;
  }

  engineUrl(p) { return `http://127.0.0.1:${this.enginePort}${p}`; }
  sandboxApi(p) { return `${this.sandboxUrl}${p}`; }
  adyenHeaders() { return { 'X-API-Key': this.adyenApiKey }; }

  async setFaults(knobs) {
    for (let i = 0; i < 20; i++) {
      const r = await http('POST', this.sandboxApi('/_sandbox/faults'), {
        headers: { Authorization: `Bearer ${this.sandboxSecret}` }, json: { reset: true, ...knobs },
      });
      if (r.status === 200) return;
      await sleep(200);
    }
    throw new Error('could not set sandbox faults');
  }
}

// ---- operations and their records ----------------------------------------------------------

const FINAL = (s) => (s >= 200 && s < 300) || (s >= 400 && s < 500 && s !== 409 && s !== 429);

class Recorder {
  constructor() {
    this.ops = [];          // every engine operation with a key
    this.flows = 0;
    this.flowKinds = {};
    this.flowsByPsp = {};
    this.shopper = { confirms: 0, declines: 0, threeDs: 0, threeDsFailed: 0 };
    this.attemptStatus = {}; // every attempt's status (0 = no answer)
  }
}

class Client {
  constructor(world, rec, index, opt) {
    this.world = world;
    this.rec = rec;
    this.index = index;
    this.opt = opt;
    this.rng = new Rng(opt.seed, `client-${index}`);
    this.flowNo = 0;
  }

  // One engine request with an Idempotency-Key, retried until a final answer.
  async op(kind, method, p, json, flow, extra = {}) {
    const key = `storm-${this.opt.seed}-c${this.index}-f${flow.no}-${kind}-${flow.opNo++}`;
    const rec = { key, kind, method, path: p, request: json ?? null, intent: flow.intent || null,
      flow: flow.kind, psp: flow.psp, at_s: Number(((now() - T0) / 1000).toFixed(1)), attempts: 0, statuses: [],
      final: null, startMs: now(), errors: [], ...extra };
    this.rec.ops.push(rec);
    const started = now();
    let delay = 100;
    while (now() - started < this.opt.opDeadlineSeconds * 1000) {
      rec.attempts++;
      const r = await http(method, this.world.engineUrl(p), {
        headers: { Authorization: `Bearer ${this.world.apiKey}`, 'Idempotency-Key': key }, json,
      });
      this.rec.attemptStatus[r.status] = (this.rec.attemptStatus[r.status] || 0) + 1;
      if (rec.statuses.length < 40) rec.statuses.push(r.status);
      if (r.status >= 500 && rec.errors.length < 40) {
        rec.errors.push({ at: now(), status: r.status, message: r.body && r.body.error ? String(r.body.error.message) : r.text.slice(0, 200) });
      }
      if (FINAL(r.status)) {
        rec.final = { status: r.status, body: r.body, text: r.body ? undefined : r.text.slice(0, 300),
          ms: now() - started };
        return rec;
      }
      rec.lastError = r.text.slice(0, 300);
      await sleep(delay + this.rng.int(0, delay));
      delay = Math.min(delay * 2, 2000);
    }
    return rec; // no final answer: an invariant failure
  }

  // The shopper confirms at the sandbox with a test card (retried with one
  // key at the PSP, which replays its first answer).
  async confirm(flow, pm) {
    const key = `storm-${this.opt.seed}-c${this.index}-f${flow.no}-confirm-${flow.opNo++}`;
    const started = now();
    this.rec.shopper.confirms++;
    while (now() - started < this.opt.opDeadlineSeconds * 1000) {
      const r = await http('POST', this.world.sandboxApi(`/v1/payment_intents/${flow.pspRef}/confirm`), {
        headers: { Authorization: `Bearer ${this.world.sandboxPublishable}`, 'Idempotency-Key': key },
        form: { payment_method: pm, client_secret: flow.clientSecret }, timeoutMs: 10000,
      });
      if (r.status === 200) return r.body ? String(r.body.status) : 'unknown';
      if (r.status === 402) { this.rec.shopper.declines++; return 'declined'; }
      if (r.status >= 400 && r.status < 500 && r.status !== 409 && r.status !== 429) return `error ${r.status}`;
      await sleep(200);
    }
    return 'no answer';
  }

  async threeDs(flow, approve) {
    this.rec.shopper.threeDs++;
    if (!approve) this.rec.shopper.threeDsFailed++;
    for (let i = 0; i < 50; i++) {
      const r = await http('POST',
        this.world.sandboxApi(`/_sandbox/3ds/${flow.pspRef}/${approve ? 'approve' : 'fail'}`),
        { form: { client_secret: flow.clientSecret }, timeoutMs: 10000 });
      if (r.status === 200) return true;
      if (r.status >= 400 && r.status < 500) return false;
      await sleep(200);
    }
    return false;
  }

  async getIntent(flow) {
    const r = await http('GET', this.world.engineUrl(`/v1/payment_intents/${flow.intent}`), {
      headers: { Authorization: `Bearer ${this.world.apiKey}` },
    });
    return r.status === 200 ? r.body : null;
  }

  // As a merchant would after its own webhook: wait until the engine shows
  // one of `statuses` (GET refreshes a pending intent from the PSP).
  async waitFor(flow, statuses, ms = 30000) {
    const until = now() + ms;
    while (now() < until) {
      const pi = await this.getIntent(flow);
      if (pi && statuses.includes(pi.status)) return pi;
      await sleep(300);
    }
    return null;
  }

  async run(stopAt) {
    while (now() < stopAt) {
      await this.flow();
    }
  }

  // During each outage (--outage on), a merchant's checkout keeps opening
  // payments: routed creates one after another (left unpaid, as a shopper
  // who leaves would), so the outage invariant counts more than the few
  // creates the flow clients happen to start meanwhile.
  async probe(stopAt) {
    while (now() < stopAt) {
      if (!this.world.counts.outages.some((o) => o.to === null)) { await sleep(200); continue; }
      const flow = { no: this.flowNo++, kind: 'outage_create', psp: 'routed', opNo: 0, intent: null };
      this.rec.flows++;
      this.rec.flowKinds[flow.kind] = (this.rec.flowKinds[flow.kind] || 0) + 1;
      const create = await this.op('create', 'POST', '/v1/payment_intents',
        { amount: this.rng.int(100, 20000), currency: this.rng.chance(0.8) ? 'usd' : 'eur', capture_method: 'manual',
          metadata: { storm_flow: `probe-f${flow.no}` } }, flow, { routed: true });
      if (create.final && create.final.status === 200) {
        create.psp = create.final.body.psp === 'sandbox' ? 'stripe' : create.final.body.psp;
        create.intent = create.final.body.id;
      }
      this.rec.flowsByPsp[create.psp] = (this.rec.flowsByPsp[create.psp] || 0) + 1;
      await sleep(this.rng.int(100, 400));
    }
  }

  async flow() {
    const rng = this.rng;
    const kind = rng.weighted([
      ['manual_capture', 20], ['manual_partial_capture', 12], ['automatic', 18], ['three_d_secure', 12],
      ['decline', 12], ['cancel_created', 5], ['cancel_authorized', 8], ['concurrent_capture_refund', 13],
    ]);
    // With --outage on every create is routed by the merchant's rules (over
    // every PSP of the storm, weighted alike): the PSP is the one the create
    // lands at, known from its answer. Otherwise the create names its PSP.
    const routed = this.opt.outage;
    let psp = this.opt.psps.length === 1 ? this.opt.psps[0] : rng.pick(this.opt.psps);
    if (routed) psp = 'routed';
    const flow = { no: this.flowNo++, kind, psp, opNo: 0, intent: null };
    this.rec.flows++;
    this.rec.flowKinds[kind] = (this.rec.flowKinds[kind] || 0) + 1;
    const amount = rng.int(100, 20000);
    const currency = rng.chance(0.8) ? 'usd' : 'eur';
    // PayPal declines at capture (the buyer's funding is denied): the storm
    // sends its decline flows as automatic captures there, so the capture
    // the engine makes when the order is approved is the one denied.
    let automatic = kind === 'automatic' || (kind === 'three_d_secure' && rng.chance(0.4));
    if (psp === 'paypal' && kind === 'decline') automatic = true;
    const createBody = { amount, currency, capture_method: automatic ? 'automatic' : 'manual',
      metadata: { storm_flow: `c${this.index}-f${flow.no}` } };
    if (!routed) createBody.psp = psp;
    const create = await this.op('create', 'POST', '/v1/payment_intents', createBody, flow, { routed });
    if (create.final && create.final.status === 200 && routed) {
      // The account the create landed at (an alias would answer its name).
      psp = create.final.body.psp === 'sandbox' ? 'stripe' : create.final.body.psp;
      flow.psp = psp;
      create.psp = psp;
    }
    this.rec.flowsByPsp[flow.psp] = (this.rec.flowsByPsp[flow.psp] || 0) + 1;
    if (!create.final || create.final.status !== 200) return;
    flow.intent = create.final.body.id;
    flow.pspRef = create.final.body.psp_reference;
    flow.clientSecret = create.final.body.client_secret;
    create.intent = flow.intent;
    // An Adyen intent Adyen holds no authorisation for is not canceled by
    // the merchant here: while the shopper may still pay (the engine's
    // limits::event_only_payment_window_s, an hour) the engine answers such a
    // cancel with a retryable 503 by design (an authorisation may be on its
    // way), so within a storm it never gets a final answer.
    const cancelUnpaid = psp !== 'adyen';
    if (kind === 'cancel_created') {
      if (cancelUnpaid) {
        await this.op('cancel', 'POST', `/v1/payment_intents/${flow.intent}/cancel`,
          { cancellation_reason: 'abandoned' }, flow);
      }
      return;
    }

    // The shopper pays at the PSP.
    const pay = psp === 'adyen' ? this.adyenShopper(flow)
      : psp === 'paypal' ? this.paypalShopper(flow) : this.stripeShopper(flow);
    let outcome;
    if (kind === 'three_d_secure') {
      const approve = rng.chance(0.8);
      if (rng.chance(0.15)) {
        // The merchant gives up while the shopper is in the challenge.
        outcome = await pay.challenge(null);
        if (outcome === 'requires_action') {
          if (cancelUnpaid) await this.op('cancel', 'POST', `/v1/payment_intents/${flow.intent}/cancel`, {}, flow);
          return;
        }
      } else {
        outcome = await pay.challenge(approve);
        if (!approve) {
          if (cancelUnpaid) {
            await this.op('cancel', 'POST', `/v1/payment_intents/${flow.intent}/cancel`,
              { cancellation_reason: 'abandoned' }, flow);
          }
          return;
        }
      }
    } else if (kind === 'decline' && psp === 'paypal') {
      // The denied order cannot be approved again (the sandbox, as PayPal,
      // keeps its declined capture): the merchant may cancel, and is done.
      outcome = await pay.decline();
      if (rng.chance(0.5)) {
        await this.op('cancel', 'POST', `/v1/payment_intents/${flow.intent}/cancel`, {}, flow);
      }
      return;
    } else if (kind === 'decline') {
      outcome = await pay.decline();
      if (rng.chance(0.5) && cancelUnpaid) {
        await this.op('cancel', 'POST', `/v1/payment_intents/${flow.intent}/cancel`, {}, flow);
        return;
      }
      outcome = await pay.good();
    } else {
      outcome = await pay.good();
    }
    if (outcome === 'no answer' || outcome.startsWith('error')) return;
    // The PSP said it authorised the payment before the merchant acts.
    const pspAuthorized = outcome === 'authorized';

    if (automatic) {
      const pi = await this.waitFor(flow, ['captured']);
      if (!pi) return;
      await this.refunds(flow, amount);
      return;
    }
    // Manual capture: with the Stripe format the merchant captures right
    // after the confirmation. Adyen tells the merchant by its AUTHORISATION
    // notification only (no read): the merchant mostly waits until the
    // engine shows it `authorized` (up to 45 s: after a crash the engine's
    // inbox lease holds a received notification 30 s); with --adyen-probes
    // on, a quarter act at once on the shopper's `Authorised`.
    const early = rng.chance(0.25) && this.opt.adyenProbes;
    if (psp === 'adyen' && !early) await this.waitFor(flow, ['authorized'], 45000);
    // PayPal: the buyer's approval is no authorisation; the engine
    // authorizes the order when it learns of the approval (its event or a
    // read). The merchant waits until the engine shows it authorized.
    if (psp === 'paypal' && !(await this.waitFor(flow, ['authorized'], 45000))) return;
    if (kind === 'cancel_authorized') {
      if (rng.chance(0.5) && psp === 'stripe') await this.waitFor(flow, ['authorized'], 10000);
      await this.op('cancel', 'POST', `/v1/payment_intents/${flow.intent}/cancel`,
        { cancellation_reason: 'requested_by_customer' }, flow, { pspAuthorized });
      return;
    }
    const partial = kind === 'manual_partial_capture';
    const captureAmount = partial ? rng.int(1, amount) : null;
    const captureBody = partial ? { amount_to_capture: captureAmount } : {};
    const accepted = (o) => o.final && (o.final.status === 200 || o.final.status === 202);
    if (kind === 'concurrent_capture_refund') {
      const refundAmount = rng.int(1, amount);
      const [cap] = await Promise.all([
        this.op('capture', 'POST', `/v1/payment_intents/${flow.intent}/capture`, captureBody, flow,
          { pspAuthorized }),
        (async () => {
          await sleep(rng.int(0, 300));
          return this.op('refund', 'POST', '/v1/refunds',
            { payment_intent: flow.intent, amount: refundAmount }, flow);
        })(),
      ]);
      if (accepted(cap) && rng.chance(0.5)) {
        // Adyen confirms the capture later: the merchant refunds once it is.
        if (cap.final.status === 202 && !(await this.waitFor(flow, ['captured', 'partially_refunded', 'refunded']))) return;
        // Two refunds at once on the captured intent.
        await Promise.all([1, 2].map(() => this.op('refund', 'POST', '/v1/refunds',
          { payment_intent: flow.intent, amount: rng.int(1, Math.max(1, Math.floor(amount / 3))) }, flow)));
      }
      return;
    }
    const cap = await this.op('capture', 'POST', `/v1/payment_intents/${flow.intent}/capture`,
      captureBody, flow, { pspAuthorized });
    if (!accepted(cap)) return;
    if (cap.final.status === 202 && !(await this.waitFor(flow, ['captured']))) return;
    await this.refunds(flow, captureAmount ?? amount);
  }

  // The shopper at the Stripe-format sandbox: confirm with a test payment
  // method; answers 'authorized', 'declined', 'requires_action', ...
  stripeShopper(flow) {
    const rng = this.rng;
    const mapped = (s) => (s === 'requires_capture' || s === 'succeeded' ? 'authorized' : s);
    return {
      good: async () => mapped(await this.confirm(flow, rng.pick(['pm_card_visa', 'pm_card_mastercard',
        'pm_card_visa_debit']))),
      decline: async () => mapped(await this.confirm(flow, rng.pick(['pm_card_chargeDeclined',
        'pm_card_chargeDeclinedInsufficientFunds']))),
      // approve: true, false, or null (the shopper stays in the challenge).
      challenge: async (approve) => {
        const outcome = await this.confirm(flow, rng.pick(['pm_card_authenticationRequired',
          'pm_card_threeDSecure2Required']));
        if (outcome !== 'requires_action' || approve === null) return mapped(outcome);
        const done = await this.threeDs(flow, approve);
        return approve && done ? 'authorized' : 'declined';
      },
    };
  }

  // The shopper at the Adyen sandbox: pays the session in the card
  // component's place (docs/sandbox.md, "Adyen mode").
  adyenShopper(flow) {
    const rng = this.rng;
    const w = this.world;
    const sh = this.rec.shopper;
    const mapped = (code) => {
      if (code === 'Authorised') return 'authorized';
      if (code === 'Refused') { sh.declines++; return 'declined'; }
      if (code === 'ChallengeShopper') return 'requires_action';
      return code;
    };
    const attempt = (how) => { sh.confirms++; return adyen.pay(http, w.sandboxUrl, w.adyenClientKey, flow, how); };
    return {
      good: async () => mapped(await attempt({ card: rng.pick(adyen.CARDS_OK) })),
      decline: async () => mapped(await attempt({ card: rng.pick(adyen.CARDS_OK),
        holder: rng.pick(adyen.HOLDERS_REFUSED) })),
      challenge: async (approve) => {
        sh.threeDs++;
        if (approve === false) sh.threeDsFailed++;
        return mapped(await attempt({ card: rng.pick(adyen.CARDS_3DS),
          password: approve === null ? null : approve ? 'password' : 'not the password' }));
      },
    };
  }

  // The buyer at PayPal's approval page (its test control, the page's own
  // button): approves with a funding that pays or whose capture is denied,
  // cancels at the page (approve false) or leaves it (approve null). There
  // is no 3-D Secure at PayPal: the storm's 3DS flows are the approval step.
  // Answers 'approved' (PayPal authorised nothing yet: the engine confirms
  // the order), 'declined' or 'requires_action' (nothing happened).
  paypalShopper(flow) {
    const w = this.world;
    const sh = this.rec.shopper;
    const approve = async (funding) => { sh.confirms++; return w.paypal.approve(flow.pspRef, funding); };
    return {
      good: () => approve(paypal.FUNDING_OK),
      decline: async () => { sh.declines++; return approve(paypal.FUNDING_DENIED); },
      challenge: async (ok) => {
        sh.threeDs++;
        if (ok === null) return 'requires_action';
        if (ok === false) { sh.threeDsFailed++; return 'declined'; }
        return approve(paypal.FUNDING_OK);
      },
    };
  }

  async refunds(flow, captured) {
    const rng = this.rng;
    const plan = rng.weighted([['none', 35], ['partial', 30], ['two_partial', 15], ['full', 20]]);
    if (plan === 'none') return;
    if (plan === 'full') {
      await this.op('refund', 'POST', '/v1/refunds',
        { payment_intent: flow.intent, reason: 'requested_by_customer' }, flow);
      return;
    }
    const n = plan === 'partial' ? 1 : 2;
    for (let i = 0; i < n; i++) {
      await this.op('refund', 'POST', '/v1/refunds',
        { payment_intent: flow.intent, amount: rng.int(1, Math.max(1, Math.floor(captured / 2))) }, flow);
    }
  }
}

// ---- chaos ------------------------------------------------------------------------------

const FAILPOINTS = ['after_psp_create', 'after_psp_capture', 'after_psp_cancel', 'after_psp_refund',
  'after_commit'];
const PHASES = {
  errors: { error_percent: 25 },
  hangs: { hang_percent: 15, hang_ms: 7000 },     // past the engine's 5 s PSP timeout
  latency: { latency_ms: 400 },
  webhook_duplicate: { webhook_duplicate_percent: 60 },
  webhook_reordered: { webhook_out_of_order_percent: 60 },
  webhook_delayed: { webhook_delay_ms: 3000 },
  webhook_dropped: { webhook_drop_first_percent: 60 },
};

// Event types the `webhook_dropped` phase also drops for good (two at a time,
// through POST /_sandbox/webhook_drops).
const PERMANENT_DROP_TYPES = ['payment_intent.amount_capturable_updated', 'payment_intent.succeeded',
  'payment_intent.canceled', 'payment_intent.payment_failed', 'charge.refunded'];

async function chaos(world, opt, stopAt) {
  const rng = new Rng(opt.seed, 'chaos');
  // One timeline of actions, decided up front from the seed.
  const plan = [];
  const length = stopAt - now();
  // Every third restart sets a failpoint, taking each in turn (in a seeded
  // order), so a storm of 15 kills or more reaches every one.
  let failpoints = [];
  let kills = 0;
  for (let t = rng.int(opt.killMinMs, opt.killMaxMs); t < length - 2000;
    t += rng.int(opt.killMinMs, opt.killMaxMs)) {
    let failpoint = null;
    if (kills++ % 3 === 1) {
      if (failpoints.length === 0) failpoints = rng.shuffle(FAILPOINTS);
      failpoint = failpoints.shift();
    }
    plan.push({ t, what: 'kill', failpoint });
  }
  if (world.ownCluster) {
    const every = opt.pgRestartEverySeconds * 1000;
    for (let t = Math.min(every, length / 2) + rng.int(-3000, 3000); t < length - 5000; t += every + rng.int(-5000, 5000)) {
      plan.push({ t, what: 'pg_restart' });
    }
  }
  // Outages (--outage on): one PSP at a time fully down at the sandbox
  // (every API call answers 500 or 503), the PSPs taken in a seeded
  // rotation; one outage per 100 s of storm, each a fifth of its share, 10
  // to 40 s (shorter than a client's deadline for a final answer, so
  // operations on the down PSP's intents finish after it recovers). No other
  // fault phase overlaps one: the outage is the fault.
  const outages = [];
  if (opt.outage) {
    const n = Math.max(1, Math.floor(length / 100000));
    let rotation = [];
    for (let i = 0; i < n; i++) {
      if (rotation.length === 0) rotation = rng.shuffle(opt.psps);
      const share = length / n;
      const dur = Math.round(Math.min(40000, Math.max(10000, share / 5)));
      const t = Math.round(i * share + share * 0.3 + rng.int(0, 2000));
      if (t + dur > length - 3000) break;
      outages.push({ t, end: t + dur, psp: rotation.shift() });
    }
    for (const o of outages) {
      plan.push({ t: o.t, what: 'outage', psp: o.psp, end: o.end });
      plan.push({ t: o.end, what: 'recover', psp: o.psp });
    }
  }
  const overlapsOutage = (a, b) => outages.some((o) => a < o.end + 1000 && b > o.t - 1000);
  let phases = [];
  for (let t = rng.int(1000, 4000); t < length - 3000;) {
    if (phases.length === 0) phases = rng.shuffle(Object.keys(PHASES));
    const name = phases[0];
    const dur = rng.int(6000, 14000);
    const end = Math.min(t + dur, length - 1000);
    if (!overlapsOutage(t, end)) {
      phases.shift();
      plan.push({ t, what: 'phase', name });
      plan.push({ t: end, what: 'calm' });
    }
    t += dur + rng.int(1000, 4000);
  }
  plan.sort((a, b) => a.t - b.t);
  const start = now();
  for (const step of plan) {
    const wait = start + step.t - now();
    if (wait > 0) await sleep(wait);
    if (now() >= stopAt) break;
    try {
      if (step.what === 'kill') {
        const pause = rng.int(0, 1500);
        log(`SIGKILL engine${step.failpoint ? `; restart with failpoint ${step.failpoint}` : ''}`);
        await world.killAndRestart(pause, step.failpoint);
      } else if (step.what === 'pg_restart') {
        log('PostgreSQL restart -m immediate');
        await world.restartPostgres();
      } else if (step.what === 'phase') {
        log(`sandbox fault phase ${step.name}`);
        world.counts.faultPhases[step.name] = (world.counts.faultPhases[step.name] || 0) + 1;
        await world.setFaults({ ...PHASES[step.name], seed: rng.int(1, 2 ** 30) });
        if (step.name === 'webhook_dropped') {
          // Besides first attempts lost, a few events are never delivered:
          // the engine must learn of them by reading the PSP.
          await world.dropWebhooks(rng.pick(PERMANENT_DROP_TYPES), 2);
        }
      } else if (step.what === 'calm') {
        await world.setFaults({});
      } else if (step.what === 'outage') {
        log(`OUTAGE: ${step.psp} down at the sandbox for ${((step.end - step.t) / 1000).toFixed(0)} s`);
        await world.setFaults({});
        await world.setFaults({ psp: step.psp, error_percent: 100 });
        world.counts.outages.push({ psp: step.psp, from: now(), to: null });
      } else if (step.what === 'recover') {
        log(`outage over: ${step.psp} back`);
        await world.setFaults({});
        const o = world.counts.outages.find((x) => x.psp === step.psp && x.to === null);
        if (o) o.to = now();
      }
    } catch (e) {
      log(`chaos step ${step.what} failed: ${e.message}`);
    }
  }
}

// ---- settle and check ----------------------------------------------------------------------

async function settle(world, opt) {
  const until = now() + opt.settleSeconds * 1000;
  const admin = { Authorization: `Bearer ${world.adminToken}` };
  let calm = 0;
  let last = null;
  while (now() < until) {
    const stats = await http('GET', world.engineUrl('/v1/admin/webhooks'), { headers: admin });
    // Every event the PSP made has reached the inbox, and none is pending.
    const events = await pspEventIds(world);
    const inbox = new Set((await sqlRows(world.dbUrl, 'SELECT DISTINCT event_id FROM webhook_inbox'))
      .map((r) => r.event_id));
    const dropped = world.droppedEventIds();
    const missing = events.filter((e) => !inbox.has(e) && !dropped.has(e)).length;
    // Adyen: every item the sandbox signed has passed the recorder, and every
    // item the recorder passed is in the inbox.
    const signed = await adyenSignedIds(world);
    const unseen = [...signed].filter((id) => !world.notifications.items.has(id)).length;
    const adyenMissing = [...world.notifications.items.keys()].filter((id) => !inbox.has(id)).length;
    const paypalMissing = world.opt.psps.includes('paypal')
      ? (await world.paypal.eventIds()).filter((e) => !inbox.has(e)).length : 0;
    // Routing orphans not handled yet: the orphan rescan takes them once
    // their PSP answers (the last outage may just have ended).
    const orphans = (await sqlRows(world.dbUrl,
      'SELECT count(*)::int AS n FROM routing_attempts b WHERE b.previous_may_exist AND NOT EXISTS ' +
      '(SELECT 1 FROM routing_orphans o WHERE o.intent_id = b.intent_id AND o.attempt = b.attempt - 1)'))[0].n;
    last = { pending: stats.body ? stats.body.pending : '?', missing, adyen_unsent: unseen, adyen_missing: adyenMissing,
      paypal_missing: paypalMissing, orphans_pending: orphans };
    if (stats.status === 200 && stats.body.pending === 0 && missing === 0 && unseen === 0 && adyenMissing === 0 &&
        paypalMissing === 0 && orphans === 0) {
      if (++calm >= 3) return { drained: true, ...last };
    } else {
      calm = 0;
    }
    await sleep(1000);
  }
  return { drained: false, ...last };
}

// The ids of the last items the Adyen sandbox signed (it lists 1,000 at most).
async function adyenSignedIds(world) {
  const r = await http('GET', world.sandboxApi('/adyen/_sandbox/notifications'), { headers: world.adyenHeaders() });
  if (r.status !== 200 || !r.body) throw new Error(`adyen notifications list answered ${r.status}`);
  return new Set(r.body.items.map((i) => adyen.itemId(i.NotificationRequestItem || i)));
}

// Adyen's settlement: the sandbox writes its settlement details report of
// everything captured and refunded (REPORT_AVAILABLE follows); the engine
// downloads it and books the payouts. Answers the report's rows, or throws.
async function settleAdyen(world, opt) {
  const r = await http('POST', world.sandboxApi('/adyen/_sandbox/settle'), { headers: world.adyenHeaders(), json: {} });
  if (r.status !== 200 || !r.body) throw new Error(`adyen settle answered ${r.status}: ${r.text.slice(0, 200)}`);
  const file = await http('GET', r.body.url, { headers: world.adyenHeaders() });
  if (file.status !== 200) throw new Error(`adyen report download answered ${file.status}`);
  const rows = adyen.parseReport(file.text);
  const payouts = rows.filter((x) => x.Type === 'MerchantPayout').length;
  const id = `REPORT_AVAILABLE:${r.body.file}:true`;
  const until = now() + opt.settleSeconds * 1000;
  while (now() < until) {
    const done = await sqlRows(world.dbUrl, "SELECT count(*)::int AS n FROM settlement_payouts WHERE psp = 'adyen'");
    const inbox = await sqlRows(world.dbUrl, `SELECT count(*)::int AS n FROM webhook_inbox WHERE event_id = '${id}' AND processed_at IS NOT NULL`);
    if (done[0].n >= payouts && inbox[0].n > 0) return { file: r.body.file, rows, payouts };
    await sleep(500);
  }
  throw new Error(`the engine did not book Adyen's report ${r.body.file} (${payouts} payouts) within ${opt.settleSeconds} s`);
}

// PayPal's settlement: the sandbox withdraws each currency's balance
// (Transaction Search rows T0400); the engine reads them on its poll and
// books one payout each. Answers the withdrawals, or throws.
async function settlePayPal(world, opt) {
  const withdrawals = await world.paypal.settle();
  const until = now() + opt.settleSeconds * 1000;
  while (now() < until) {
    const done = await sqlRows(world.dbUrl, "SELECT count(*)::int AS n FROM settlement_payouts WHERE psp = 'paypal'");
    if (done[0].n >= withdrawals.length) return withdrawals;
    await sleep(500);
  }
  throw new Error(`the engine did not book PayPal's ${withdrawals.length} withdrawals within ${opt.settleSeconds} s`);
}

async function pspEventIds(world) {
  const ids = [];
  let after = null;
  for (;;) {
    const q = new URLSearchParams({ limit: '100' });
    if (after) q.set('starting_after', after);
    const r = await http('GET', world.sandboxApi(`/v1/events?${q}`),
      { headers: { Authorization: `Bearer ${world.sandboxSecret}` } });
    if (r.status !== 200) throw new Error(`sandbox events list answered ${r.status}`);
    for (const e of r.body.data) ids.push(e.id);
    if (!r.body.has_more || r.body.data.length === 0) return ids;
    after = r.body.data[r.body.data.length - 1].id;
  }
}

// Maps the PSP's intent to the engine's status vocabulary.
function expectedStatus(pspPi, charge) {
  switch (pspPi.status) {
    case 'requires_payment_method': case 'requires_confirmation': return 'created';
    case 'requires_action': return 'requires_action';
    case 'processing': return 'processing';
    case 'requires_capture': return 'authorized';
    case 'canceled': return 'canceled';
    case 'succeeded': {
      const refunded = charge ? charge.amount_refunded : 0;
      if (refunded === 0) return 'captured';
      return refunded >= pspPi.amount_received ? 'refunded' : 'partially_refunded';
    }
    default: return `?${pspPi.status}`;
  }
}

// The engine statuses a PayPal order's payments allow.
function paypalWant(v) {
  const refunded = [...v.refunds.values()].reduce((a, b) => a + b, 0);
  if (v.captured > 0) return [refunded === 0 ? 'captured' : refunded >= v.captured ? 'refunded' : 'partially_refunded'];
  if (v.voided) return ['canceled'];
  if (v.authorization && v.authorization.status === 'CREATED') return ['authorized'];
  // Nothing paid (not approved, approved and never confirmed, or its capture
  // denied): a cancel needs no PSP call.
  return ['created', 'canceled'];
}

async function check(world, rec, opt, adyenReport, stopAt) {
  const results = [];
  const result = (name, failures, detail = '') => results.push({ name, failures, detail });
  const sbx = { Authorization: `Bearer ${world.sandboxSecret}` };
  const merchant = { Authorization: `Bearer ${world.apiKey}` };
  const admin = { Authorization: `Bearer ${world.adminToken}` };
  const body = (op) => (op.final && op.final.body && op.final.body.error ? ` "${op.final.body.error.message}"` : '');
  const fmt = (op) => `${op.kind} ${op.key} (${op.psp} intent ${op.intent}) answered ${op.final ? op.final.status : 'nothing'}${body(op)}`;

  // 0. Every request got a final answer.
  {
    const f = rec.ops.filter((o) => !o.final).map((o) => `${o.kind} ${o.key} (${o.psp} intent ${o.intent}): no final answer ` +
      `after ${o.attempts} attempts; answers ${o.statuses.slice(-8).join(',')}; last ${o.lastError || ''}`);
    result('every request got a final answer', f);
  }

  // 1. One intent per key, at the engine and at the PSP.
  const engineIntents = await sqlRows(world.dbUrl,
    'SELECT id, psp, status, amount, currency, capture_method, amount_capturable, amount_received, ' +
    'amount_refunded, psp_reference, version FROM payment_intents ORDER BY id');
  const byId = new Map(engineIntents.map((p) => [p.id, p]));
  const stripeIntents = engineIntents.filter((p) => p.psp === 'stripe');
  const adyenIntents = engineIntents.filter((p) => p.psp === 'adyen');
  const paypalIntents = engineIntents.filter((p) => p.psp === 'paypal');
  // Routing: every attempt of a routed create and what was done about the
  // ones that may have left an intent at their PSP (routing_orphans).
  const attempts = await sqlRows(world.dbUrl,
    'SELECT a.intent_id, a.attempt, a.psp, a.reason, a.previous_may_exist, o.outcome, o.psp_reference ' +
    'FROM routing_attempts a LEFT JOIN routing_orphans o USING (intent_id, attempt) ORDER BY 1, 2');
  // PSP objects a routing orphan left (canceled there, or lapsing by itself).
  const orphanObjects = (name) => attempts.filter((a) => a.psp === name && (a.outcome === 'canceled' || a.outcome === 'expires')).length;
  const creates = rec.ops.filter((o) => o.kind === 'create');
  const created = creates.filter((o) => o.final && o.final.status === 200);
  // The PSP's side of every Adyen payment, from every notification it sent.
  const { byIntent: adyenView, problems: adyenProblems } = adyen.pspView(world.notifications.items);
  const noPayment = { payments: [], authorised: null, captures: [], captureFailed: [], canceled: false,
    cancelRefused: 0, refunds: new Map(), refundsRefused: [] };
  const adyenOf = (id) => adyenView.get(id) || noPayment;
  const adyenCaptured = (p, v) => {
    if (!v.authorised) return 0;
    if (p.capture_method === 'automatic') return v.authorised.value;
    return v.captures.reduce((s, c) => s + c.value, 0) -
      v.captureFailed.filter((c) => c.after).reduce((s, c) => s + c.value, 0);
  };
  const adyenRefunded = (v) => [...v.refunds.values()].reduce((s, x) => s + x, 0);
  let pspCounts = '';
  const unexplained = {}; // PSP -> objects backing no engine intent and no recorded orphan
  {
    const f = [];
    const ids = new Map();
    for (const o of created) {
      const id = o.final.body.id;
      if (ids.has(id)) f.push(`keys ${ids.get(id)} and ${o.key} answered the same intent ${id}`);
      ids.set(id, o.key);
      if (!byId.has(id)) f.push(`create ${o.key} answered ${id}, which the engine does not have`);
      else if (o.request.psp && byId.get(id).psp !== o.request.psp) f.push(`create ${o.key} asked for ${o.request.psp}, intent ${id} is at ${byId.get(id).psp}`);
    }
    for (const p of engineIntents) if (!ids.has(p.id)) f.push(`engine intent ${p.id} was answered to no key`);
    for (const p of engineIntents) if (!opt.psps.includes(p.psp)) f.push(`engine intent ${p.id} is at PSP ${p.psp}`);
    const psp = new Set();
    for (const p of engineIntents) {
      if (!p.psp_reference) f.push(`engine intent ${p.id} has no PSP reference`);
      else if (psp.has(p.psp_reference)) f.push(`PSP object ${p.psp_reference} backs two engine intents`);
      psp.add(p.psp_reference);
    }
    const state = await http('GET', world.sandboxApi('/_sandbox/state'), { headers: sbx });
    const stripeCount = state.body && state.body.objects ? state.body.objects.payment_intents
      : (state.body && state.body.payment_intents);
    // Each PSP holds one object per engine intent, plus those of routing
    // orphans the engine found and canceled (or left to lapse).
    unexplained.stripe = stripeCount - stripeIntents.length - orphanObjects('stripe');
    if (stripeCount !== stripeIntents.length + orphanObjects('stripe')) {
      f.push(`the Stripe-format PSP holds ${stripeCount} payment intents, the engine ${stripeIntents.length}` +
        ` and ${orphanObjects('stripe')} recorded routing orphans`);
    }
    // Adyen: one session per Adyen intent, and every payment names one of them.
    const sessions = state.body && state.body.adyen ? state.body.adyen.sessions : undefined;
    unexplained.adyen = sessions - adyenIntents.length - orphanObjects('adyen');
    if (sessions !== adyenIntents.length + orphanObjects('adyen')) {
      f.push(`the Adyen PSP holds ${sessions} sessions, the engine ${adyenIntents.length} Adyen intents` +
        ` and ${orphanObjects('adyen')} recorded routing orphans`);
    }
    const orders = state.body && state.body.paypal ? state.body.paypal.orders : undefined;
    if (opt.psps.includes('paypal')) unexplained.paypal = orders - paypalIntents.length - orphanObjects('paypal');
    if (opt.psps.includes('paypal') && orders !== paypalIntents.length + orphanObjects('paypal')) {
      f.push(`the PayPal PSP holds ${orders} orders, the engine ${paypalIntents.length} PayPal intents` +
        ` and ${orphanObjects('paypal')} recorded routing orphans`);
    }
    for (const [id, v] of adyenView) {
      if (!byId.has(id) || byId.get(id).psp !== 'adyen') f.push(`Adyen payments ${v.payments.map((x) => x.psp).join(', ')} name ${id}, not an engine Adyen intent`);
      if (v.twoAuthorised) f.push(`${id}: Adyen authorised two payments: ${v.payments.filter((x) => x.authorised).map((x) => x.psp).join(', ')}`);
    }
    for (const x of adyenProblems) f.push(`Adyen: ${x}`);
    pspCounts = `stripe ${stripeIntents.length} intents / ${stripeCount} at the PSP; adyen ${adyenIntents.length} / ${sessions} sessions` +
      `; paypal ${paypalIntents.length} / ${orders} orders`;
    result('each key made one intent at the engine and one at the PSP', f,
      `${created.length} creates answered 200; ${pspCounts}`);
  }

  // Fetch both sides of every intent (Adyen: the engine's side; the PSP's is
  // its notifications and its settlement report).
  const psp = new Map();
  const engine = new Map();
  await pool(engineIntents, 8, async (p) => {
    let e = await http('GET', world.engineUrl(`/v1/payment_intents/${p.id}`), { headers: merchant });
    // A busy engine may answer 429 or 503 for a moment: read again (bounded).
    for (let i = 0; i < 20 && (e.status === 429 || e.status === 503 || e.status === 0); ++i) {
      await sleep(250);
      e = await http('GET', world.engineUrl(`/v1/payment_intents/${p.id}`), { headers: merchant });
    }
    engine.set(p.id, e.status === 200 ? e.body : { status: `answered ${e.status}` });
    if (p.psp === 'adyen') return;
    if (p.psp === 'paypal') {
      const order = await world.paypal.order(p.psp_reference);
      psp.set(p.id, { order, v: paypal.view(order) });
      return;
    }
    const r = await http('GET', world.sandboxApi(`/v1/payment_intents/${p.psp_reference}`), { headers: sbx });
    let charge = null;
    if (r.status === 200 && r.body.latest_charge) {
      const c = await http('GET', world.sandboxApi(`/v1/charges/${r.body.latest_charge}`), { headers: sbx });
      charge = c.body;
    }
    psp.set(p.id, { pi: r.status === 200 ? r.body : null, charge });
  });
  // Re-read the table after the GETs (which may have refreshed pending intents).
  const engineRows = new Map((await sqlRows(world.dbUrl,
    'SELECT id, psp, status, amount, amount_capturable, amount_received, amount_refunded, psp_reference, version FROM payment_intents'))
    .map((p) => [p.id, p]));
  const engineRefunds = await sqlRows(world.dbUrl, 'SELECT id, intent_id, amount, status, psp_reference FROM refunds');

  // The sandbox's own ledger: its settlement report, per Adyen payment.
  const report = new Map(); // payment psp -> { settled, refunds: Map(mod psp -> value) }
  for (const row of adyenReport.rows) {
    if (row.Type !== 'Settled' && row.Type !== 'Refunded') continue;
    if (!report.has(row['Psp Reference'])) report.set(row['Psp Reference'], { settled: 0, refunds: new Map() });
    const x = report.get(row['Psp Reference']);
    if (row.Type === 'Settled') x.settled += adyen.minor(row['Gross Credit (GC)']);
    else x.refunds.set(row['Modification Reference'], adyen.minor(row['Gross Debit (GC)']));
  }

  // 2. Engine and PSP agree.
  {
    const f = [];
    for (const p of stripeIntents) {
      const e = engine.get(p.id);
      const { pi, charge } = psp.get(p.id);
      if (!e) { f.push(`${p.id}: the engine's GET failed`); continue; }
      if (!pi) { f.push(`${p.id}: the PSP's GET of ${p.psp_reference} failed`); continue; }
      const want = expectedStatus(pi, charge);
      const diffs = [];
      if (e.status !== want) diffs.push(`status engine ${e.status}, PSP ${pi.status} (= ${want})`);
      if (e.amount !== pi.amount) diffs.push(`amount ${e.amount} vs ${pi.amount}`);
      if (e.amount_received !== pi.amount_received) diffs.push(`amount_received ${e.amount_received} vs ${pi.amount_received}`);
      if (e.amount_capturable !== pi.amount_capturable) diffs.push(`amount_capturable ${e.amount_capturable} vs ${pi.amount_capturable}`);
      const pspRefunded = charge ? charge.amount_refunded : 0;
      if (e.amount_refunded !== pspRefunded) diffs.push(`amount_refunded ${e.amount_refunded} vs ${pspRefunded}`);
      if (pi.metadata && pi.metadata.engine_intent_id && pi.metadata.engine_intent_id !== p.id) {
        diffs.push(`PSP metadata names ${pi.metadata.engine_intent_id}`);
      }
      if (diffs.length) f.push(`${p.id} (${p.psp_reference}): ${diffs.join('; ')}`);
    }
    for (const p of adyenIntents) {
      const e = engine.get(p.id);
      const v = adyenOf(p.id);
      const auth = v.authorised;
      const captured = adyenCaptured(p, v);
      const refunded = adyenRefunded(v);
      let want;
      if (v.canceled) want = ['canceled'];
      else if (auth && captured > 0) want = [refunded === 0 ? 'captured' : refunded >= captured ? 'refunded' : 'partially_refunded'];
      else if (auth) want = ['authorized'];
      else want = ['created', 'canceled']; // nothing paid: a cancel needs no PSP call
      const capturable = auth && captured === 0 && !v.canceled ? auth.value : 0;
      const diffs = [];
      if (!e || e.status.startsWith('answered')) { f.push(`${p.id}: the engine's GET ${e ? e.status : 'failed'}`); continue; }
      if (!want.includes(e.status)) diffs.push(`status engine ${e.status}, Adyen's notifications say ${want.join(' or ')}`);
      if (auth && e.amount !== auth.value) diffs.push(`amount ${e.amount} vs authorised ${auth.value}`);
      if (e.amount_received !== captured) diffs.push(`amount_received ${e.amount_received} vs captured ${captured}`);
      if (e.amount_capturable !== capturable) diffs.push(`amount_capturable ${e.amount_capturable} vs ${capturable}`);
      if (e.amount_refunded !== refunded) diffs.push(`amount_refunded ${e.amount_refunded} vs ${refunded}`);
      if (auth && e.psp_reference !== auth.psp) diffs.push(`psp_reference ${e.psp_reference}, Adyen authorised ${auth.psp}`);
      // The notifications against the sandbox's own ledger (its report).
      const r = auth ? report.get(auth.psp) || { settled: 0, refunds: new Map() } : null;
      if (r && r.settled !== captured) diffs.push(`Adyen's report settled ${r.settled}, its notifications captured ${captured}`);
      if (r && [...r.refunds.keys()].sort().join() !== [...v.refunds.keys()].sort().join()) {
        diffs.push(`Adyen's report refunds ${[...r.refunds.keys()].join(',')}, its notifications ${[...v.refunds.keys()].join(',')}`);
      }
      if (diffs.length) f.push(`${p.id} (adyen ${p.psp_reference}): ${diffs.join('; ')}`);
    }
    for (const p of paypalIntents) {
      const e = engine.get(p.id);
      const { order, v } = psp.get(p.id);
      if (!e || e.status.startsWith('answered')) { f.push(`${p.id}: the engine's GET ${e ? e.status : 'failed'}`); continue; }
      if (!order) { f.push(`${p.id}: the PSP's GET of order ${p.psp_reference} failed`); continue; }
      const want = paypalWant(v);
      const refunded = [...v.refunds.values()].reduce((a, b) => a + b, 0);
      const capturable = v.authorization && v.authorization.status === 'CREATED' && v.captured === 0 ? v.authorizedValue : 0;
      const diffs = [];
      if (!want.includes(e.status)) diffs.push(`status engine ${e.status}, PayPal's order ${v.status} says ${want.join(' or ')}`);
      if (e.amount !== v.value) diffs.push(`amount ${e.amount} vs order ${v.value}`);
      if (e.amount_received !== v.captured) diffs.push(`amount_received ${e.amount_received} vs captured ${v.captured}`);
      if (e.amount_capturable !== capturable) diffs.push(`amount_capturable ${e.amount_capturable} vs ${capturable}`);
      if (e.amount_refunded !== refunded) diffs.push(`amount_refunded ${e.amount_refunded} vs ${refunded}`);
      const unit = (order.purchase_units || [])[0] || {};
      if (unit.custom_id && unit.custom_id !== p.id) diffs.push(`PayPal's custom_id names ${unit.custom_id}`);
      if (diffs.length) f.push(`${p.id} (paypal ${p.psp_reference}): ${diffs.join('; ')}`);
    }
    result('engine and PSP agree on every intent\'s status and amounts', f,
      `${stripeIntents.length} stripe intents, ${paypalIntents.length} paypal intents, ${adyenIntents.length} adyen intents (against ${world.notifications.items.size} notifications and a report of ${adyenReport.rows.length} lines)`);
  }

  // 3. Nothing captured or refunded twice or above its amount.
  {
    const f = [];
    const refundsByIntent = new Map();
    for (const r of engineRefunds) {
      if (!refundsByIntent.has(r.intent_id)) refundsByIntent.set(r.intent_id, []);
      refundsByIntent.get(r.intent_id).push(r);
    }
    const seenPspRefund = new Map();
    for (const r of engineRefunds) {
      if (r.psp_reference && seenPspRefund.has(r.psp_reference)) {
        f.push(`PSP refund ${r.psp_reference} booked twice: ${seenPspRefund.get(r.psp_reference)} and ${r.id}`);
      }
      seenPspRefund.set(r.psp_reference, r.id);
    }
    for (const p of engineIntents) {
      const row = engineRows.get(p.id);
      if (row.amount_received > row.amount) f.push(`${p.id}: received ${row.amount_received} > amount ${row.amount}`);
      if (row.amount_refunded > row.amount_received) f.push(`${p.id}: refunded ${row.amount_refunded} > received ${row.amount_received}`);
      const mine = refundsByIntent.get(p.id) || [];
      const booked = mine.filter((r) => r.status === 'succeeded' || p.psp !== 'adyen');
      const sum = booked.reduce((s, r) => s + Number(r.amount), 0);
      if (sum !== Number(row.amount_refunded)) f.push(`${p.id}: refund rows sum ${sum}, intent says ${row.amount_refunded}`);
      let pspIds;
      if (p.psp === 'adyen') {
        const v = adyenOf(p.id);
        const captured = adyenCaptured(p, v);
        if (v.authorised && captured > v.authorised.value) f.push(`${p.id}: Adyen captured ${captured} > ${v.authorised.value}`);
        if (v.captures.length > 1) f.push(`${p.id}: Adyen captured ${v.captures.length} times`);
        if (adyenRefunded(v) > captured) f.push(`${p.id}: Adyen refunded ${adyenRefunded(v)} > captured ${captured}`);
        for (const r of mine.filter((x) => x.status === 'pending')) f.push(`${p.id}: refund ${r.id} (${r.psp_reference}) still pending`);
        pspIds = new Set(v.refunds.keys());
      } else if (p.psp === 'paypal') {
        const { v } = psp.get(p.id);
        const refunded = [...v.refunds.values()].reduce((a, b) => a + b, 0);
        const completed = v.captures.filter((c) => c.status !== 'DECLINED' && c.status !== 'PENDING');
        if (v.twoAuthorizations) f.push(`${p.id}: PayPal authorized twice: ${v.twoAuthorizations.join(', ')}`);
        if (completed.length > 1) f.push(`${p.id}: PayPal captured ${completed.length} times`);
        if (v.captured > v.value) f.push(`${p.id}: PayPal captured ${v.captured} > ${v.value}`);
        if (refunded > v.captured) f.push(`${p.id}: PayPal refunded ${refunded} > captured ${v.captured}`);
        pspIds = new Set(v.refunds.keys());
      } else {
        const { pi, charge } = psp.get(p.id);
        if (pi && pi.amount_received > pi.amount) f.push(`${p.id}: PSP received ${pi.amount_received} > ${pi.amount}`);
        if (charge && charge.amount_refunded > charge.amount_captured) {
          f.push(`${p.id}: PSP refunded ${charge.amount_refunded} > captured ${charge.amount_captured}`);
        }
        pspIds = new Set((charge && charge.refunds ? charge.refunds.data : []).map((r) => r.id));
      }
      const ourIds = new Set(booked.map((r) => r.psp_reference));
      for (const id of pspIds) if (!ourIds.has(id)) f.push(`${p.id}: PSP refund ${id} is not booked at the engine`);
      for (const id of ourIds) if (!pspIds.has(id)) f.push(`${p.id}: engine refund of PSP ${id} does not exist at the PSP`);
    }
    result('nothing captured or refunded twice or above its amount', f,
      `${engineRefunds.length} engine refunds`);
  }

  // 4. Ledger, per PSP account and currency (after Adyen's settlement).
  {
    const f = [];
    const tb = await http('GET', world.engineUrl('/v1/ledger/trial_balance'), { headers: admin });
    if (tb.status !== 200 || !tb.body || !Array.isArray(tb.body.currencies)) {
      f.push(`trial balance answered ${tb.status}: ${tb.text.slice(0, 200)}`);
    } else {
      for (const line of tb.body.currencies) if (!line.balanced) f.push(`trial balance unbalanced: ${JSON.stringify(line)}`);
    }
    const rows = await sqlRows(world.dbUrl,
      'SELECT p.psp, p.currency, sum(p.amount_received)::bigint AS captured, sum(p.amount_refunded)::bigint AS refunded, ' +
      '(SELECT coalesce(sum(e.debit - e.credit), 0)::bigint FROM ledger_entries e JOIN ledger_accounts a ' +
      " ON a.id = e.account_id WHERE a.key = 'psp_receivable:' || p.psp AND a.currency = p.currency) AS receivable, " +
      '(SELECT coalesce(sum(j.gross), 0)::bigint FROM settlement_journals j JOIN settlement_payouts sp ' +
      ' ON sp.id = j.payout_id WHERE sp.currency = p.currency AND sp.psp = p.psp) AS settled ' +
      'FROM payment_intents p GROUP BY p.psp, p.currency ORDER BY 1, 2');
    const detail = [];
    for (const r of rows) {
      const want = Number(r.captured) - Number(r.refunded) - Number(r.settled);
      detail.push(`${r.psp} ${r.currency}: receivable ${r.receivable} = captured ${r.captured} - refunded ${r.refunded} - settled ${r.settled}`);
      if (Number(r.receivable) !== want) f.push(`${r.psp} ${r.currency}: receivable ${r.receivable}, captured - refunded - settled = ${want}`);
    }
    result('trial balance zero and receivable = captured - refunded - settled', f, detail.join('; '));
  }

  // 5. Inbox.
  {
    const f = [];
    const stats = await http('GET', world.engineUrl('/v1/admin/webhooks'), { headers: admin });
    if (stats.status !== 200) f.push(`/v1/admin/webhooks answered ${stats.status}`);
    else {
      if (stats.body.pending !== 0) f.push(`${stats.body.pending} events still pending`);
      if (stats.body.dead_letters_open !== 0) f.push(`${stats.body.dead_letters_open} open dead letters`);
    }
    const events = await pspEventIds(world);
    const inbox = new Set((await sqlRows(world.dbUrl, 'SELECT DISTINCT event_id FROM webhook_inbox')).map((r) => r.event_id));
    const dropped = world.droppedEventIds();
    const missing = events.filter((e) => !inbox.has(e) && !dropped.has(e));
    if (missing.length) f.push(`${missing.length} PSP events never reached the inbox, e.g. ${missing.slice(0, 3).join(', ')}`);
    for (const e of dropped) if (inbox.has(e)) f.push(`event ${e}, dropped for good by the sandbox, is in the inbox`);
    const adyenItems = [...world.notifications.items.keys()];
    const adyenMissing = adyenItems.filter((id) => !inbox.has(id));
    if (adyenMissing.length) f.push(`${adyenMissing.length} Adyen notification items never reached the inbox, e.g. ${adyenMissing.slice(0, 3).join(', ')}`);
    const signed = await adyenSignedIds(world);
    const unseen = [...signed].filter((id) => !world.notifications.items.has(id));
    if (unseen.length) f.push(`${unseen.length} items the Adyen sandbox signed were never delivered, e.g. ${unseen.slice(0, 3).join(', ')}`);
    let paypalEvents = [];
    if (opt.psps.includes('paypal')) {
      paypalEvents = await world.paypal.eventIds();
      const lost = paypalEvents.filter((e) => !inbox.has(e));
      if (lost.length) f.push(`${lost.length} PayPal events never reached the inbox, e.g. ${lost.slice(0, 3).join(', ')}`);
    }
    const n = await sqlRows(world.dbUrl, 'SELECT count(*)::int AS n FROM webhook_inbox');
    result('inbox empty, no open dead letters', f,
      `stripe: ${events.length} PSP events (${dropped.size} never delivered, by design); adyen: ${adyenItems.length} ` +
      `notification items in ${world.notifications.posts} POSTs; paypal: ${paypalEvents.length} events (its last 2000); ` +
      `${n[0].n} inbox rows`);
  }

  // 6. Reconciliation, per PSP account.
  {
    const f = [];
    const detail = [];
    const date = new Date().toISOString().slice(0, 10);
    for (const name of opt.psps) {
      const r = await http('POST', world.engineUrl('/v1/admin/reconciliation/runs'),
        { headers: admin, json: { date, rerun: true, psp: name }, timeoutMs: 60000 });
      if (r.status !== 200) { f.push(`${name}: reconciliation answered ${r.status}: ${r.text.slice(0, 300)}`); continue; }
      detail.push(`${name}: ${r.body.matched} matched, ${r.body.differences_count} differences`);
      for (const d of (r.body.differences || []).slice(0, 20)) f.push(`${name}: ${d.detail || JSON.stringify(d)}`);
      if (r.body.differences_count !== 0 && !(r.body.differences || []).length) f.push(`${name}: ${r.body.differences_count} differences`);
    }
    const payouts = await sqlRows(world.dbUrl, "SELECT count(*)::int AS n, coalesce(sum(unmatched_count), 0)::int AS unmatched FROM settlement_payouts WHERE psp = 'adyen'");
    if (payouts[0].unmatched) f.push(`adyen: ${payouts[0].unmatched} report lines the engine could not attribute`);
    detail.push(`adyen report ${adyenReport.file}: ${payouts[0].n} payouts booked`);
    result('reconciliation clean', f, detail.join('; '));
  }

  // 7. Every operation's final answer matches its effect.
  {
    const f = [];
    const opsByIntent = new Map();
    for (const o of rec.ops) {
      if (!o.intent || o.kind === 'create') continue;
      if (!opsByIntent.has(o.intent)) opsByIntent.set(o.intent, []);
      opsByIntent.get(o.intent).push(o);
    }
    // A final yes: 200, or 202 from a PSP that confirms later.
    const ok = (o) => o.final && (o.final.status === 200 || o.final.status === 202);
    const refused = (o) => o.final && o.final.status >= 400;
    for (const [id, ops] of opsByIntent) {
      const row = byId.get(id);
      if (!row) continue; // reported by the key check
      let captured; let authorisedUncaptured; let canceled; let nothingPaid; let pspRefunds; let pspCaptureAnswered;
      if (row.psp === 'adyen') {
        const v = adyenOf(id);
        captured = row.capture_method === 'manual' ? adyenCaptured(row, v) : 0;
        canceled = v.canceled;
        nothingPaid = !v.authorised;
        authorisedUncaptured = !!v.authorised && !canceled && v.captures.length === 0 && v.captureFailed.length === 0;
        pspRefunds = [...v.refunds].map(([rid, amount]) => ({ id: rid, amount }));
        // Adyen refused the capture after accepting it: a 202 was still true.
        pspCaptureAnswered = v.captures.length + v.captureFailed.length > 0;
      } else if (row.psp === 'paypal') {
        const { order, v } = psp.get(id) || {};
        if (!order) continue; // reported by the agreement check
        captured = row.capture_method === 'manual' ? v.captured : 0;
        canceled = v.voided;
        nothingPaid = !v.authorization && v.captured === 0;
        authorisedUncaptured = !!v.authorization && v.authorization.status === 'CREATED' && v.captured === 0;
        pspRefunds = [...v.refunds].map(([rid, amount]) => ({ id: rid, amount }));
        pspCaptureAnswered = v.captures.length > 0;
      } else {
        const { pi, charge } = psp.get(id) || {};
        if (!pi) continue; // reported by the agreement check
        captured = pi.capture_method === 'manual' ? pi.amount_received : 0;
        canceled = pi.status === 'canceled';
        nothingPaid = false;
        authorisedUncaptured = pi.status === 'requires_capture';
        pspRefunds = charge && charge.refunds ? charge.refunds.data : [];
        pspCaptureAnswered = captured > 0;
      }
      // Capture: the PSP captured ⟺ a capture key was answered yes (with that amount).
      const caps = ops.filter((o) => o.kind === 'capture');
      if (caps.length) {
        const yes = caps.filter(ok);
        if (captured > 0 && yes.length === 0) {
          for (const o of caps.filter(refused)) f.push(`${fmt(o)}, but the PSP captured ${captured}`);
        }
        for (const o of yes) {
          if (o.final.status === 200 && captured === 0) f.push(`${fmt(o)}, but the PSP did not capture`);
          if (o.final.status === 202 && !pspCaptureAnswered) f.push(`${fmt(o)}, but the PSP neither captured nor refused a capture`);
        }
        // A capture sent after the PSP had authorised the payment, refused,
        // while the PSP still holds the authorisation: the merchant was told
        // it cannot capture a payment it can (only a decision taken before
        // the PSP was called may be final, and this one was not true).
        if (captured === 0 && authorisedUncaptured) {
          for (const o of caps.filter((x) => refused(x) && x.pspAuthorized)) {
            f.push(`${fmt(o)}, sent after the PSP authorised the payment, which the PSP still holds uncaptured`);
          }
        }
        for (const o of yes) {
          if (captured > 0 && o.request && o.request.amount_to_capture && captured !== o.request.amount_to_capture) {
            f.push(`${fmt(o)} for ${o.request.amount_to_capture}, but the PSP captured ${captured}`);
          }
          const st = o.final.body && o.final.body.status;
          const fine = o.final.status === 202 ? ['capture_pending'] : ['captured', 'partially_refunded', 'refunded'];
          if (!fine.includes(st)) f.push(`${fmt(o)} with status ${st}`);
        }
      }
      // Cancel: the PSP canceled ⟺ some cancel key was answered yes (a
      // payment never made needs no PSP call to be canceled).
      const cancels = ops.filter((o) => o.kind === 'cancel');
      if (cancels.length) {
        const yes = cancels.filter(ok);
        if (canceled && yes.length === 0) for (const o of cancels.filter(refused)) f.push(`${fmt(o)}, but the PSP canceled the payment`);
        if (!canceled && !nothingPaid) for (const o of yes) f.push(`${fmt(o)}, but the PSP did not cancel (captured ${captured})`);
        if (!canceled && nothingPaid && row.status !== 'canceled') for (const o of yes) f.push(`${fmt(o)}, but the intent is ${row.status}`);
        // As for captures: a cancel sent after the PSP authorised, refused,
        // while the PSP still holds the authorisation.
        if (!canceled && authorisedUncaptured && captured === 0) {
          for (const o of cancels.filter((x) => refused(x) && x.pspAuthorized)) {
            f.push(`${fmt(o)}, sent after the PSP authorised the payment, which the PSP still holds uncaptured`);
          }
        }
        for (const o of yes) {
          const st = o.final.body && o.final.body.status;
          const fine = o.final.status === 202 ? ['cancel_pending'] : ['canceled'];
          if (!fine.includes(st)) f.push(`${fmt(o)} with status ${st}`);
        }
      }
      // Refunds: PSP refunds match the keys answered 200 one to one.
      const refunds = ops.filter((o) => o.kind === 'refund');
      if (refunds.length) {
        const answered = new Map();
        for (const o of refunds.filter(ok)) {
          const ref = o.final.body && o.final.body.psp_reference;
          const at = pspRefunds.find((r) => r.id === ref);
          if (!at) f.push(`${fmt(o)} with PSP refund ${ref}, which the PSP does not have`);
          else if (o.request.amount && at.amount !== o.request.amount) f.push(`${fmt(o)} for ${o.request.amount}, PSP refund ${ref} is ${at.amount}`);
          if (answered.has(ref)) f.push(`${fmt(o)} with PSP refund ${ref}, also answered to ${answered.get(ref)}`);
          answered.set(ref, o.key);
        }
        const orphans = pspRefunds.filter((r) => !answered.has(r.id));
        for (const orphan of orphans) {
          // The keys that could have made it: not answered 200, same amount
          // (or no amount: a full refund).
          const losers = refunds.filter((o) => !ok(o) && (!o.request.amount || o.request.amount === orphan.amount));
          f.push(`${id}: PSP refund ${orphan.id} (${orphan.amount}) was answered to no key; made by ` +
            `${losers.map((o) => `${o.key} (${o.request.amount || 'all'}) answered ` +
            `${o.final ? `${o.final.status}${body(o)}` : 'nothing final'}`).join(' or ') || 'no key of the storm'}`);
        }
      }
    }
    // A retry after the fact learns what happened: every key answered 202
    // (the PSP confirmed or refused since) and every key that needed
    // retries, asked once more, answers as it did (202 may have become 200),
    // never a refusal or an error.
    const again = rec.ops.filter((o) => o.kind !== 'create' && o.final && (o.final.status === 202 || o.attempts > 1));
    const reasked = { same: 0 };
    await pool(again, 8, async (o) => {
      let r;
      for (let i = 0; i < 20; i++) {
        r = await http(o.method, world.engineUrl(o.path), {
          headers: { Authorization: `Bearer ${world.apiKey}`, 'Idempotency-Key': o.key }, json: o.request ?? undefined,
        });
        if (FINAL(r.status)) break;
        await sleep(250);
      }
      const was = o.final.status;
      const fine = was === 202 ? [200, 202] : [was];
      if (!fine.includes(r.status)) {
        f.push(`${fmt(o)}; asked again with its key after the storm it answered ${r.status}` +
          `${r.body && r.body.error ? ` "${r.body.error.message}"` : ''}`);
      } else reasked.same++;
    });
    const counted = rec.ops.filter((o) => o.kind !== 'create');
    const byPsp = opt.psps.map((n) => `${n} ${counted.filter((o) => o.psp === n).length}`).join(', ');
    result('every operation\'s final answer matches its effect', f,
      `${counted.length} captures, cancels and refunds checked (${byPsp}); ${again.length} asked again after the storm, ${reasked.same} answered the same`);
  }

  // 9. Routing orphans: every attempt that may have left an intent at its
  // PSP (a 5xx, a timeout or a broken connection before the create failed
  // over) was handled: canceled at the PSP, left to lapse, or found absent
  // (recorded in routing_orphans); the PSP-side counts of the key check
  // prove no unrecorded one made anything.
  if (attempts.length) {
    const f = [];
    const byKey = new Map(attempts.map((a) => [`${a.intent_id}/${a.attempt}`, a]));
    const outcomes = {};
    const unrecorded = [];
    for (const a of attempts) {
      if (!a.previous_may_exist) continue;
      const prev = byKey.get(`${a.intent_id}/${a.attempt - 1}`);
      if (!prev) { f.push(`${a.intent_id} attempt ${a.attempt}: no attempt ${a.attempt - 1} recorded`); continue; }
      if (!prev.outcome) { unrecorded.push(prev); continue; }
      outcomes[`${prev.psp} ${prev.outcome}`] = (outcomes[`${prev.psp} ${prev.outcome}`] || 0) + 1;
      if (prev.outcome === 'canceled' && prev.psp === 'stripe') {
        const r = await http('GET', world.sandboxApi(`/v1/payment_intents/${prev.psp_reference}`), { headers: sbx });
        if (r.status !== 200 || r.body.status !== 'canceled') {
          f.push(`${a.intent_id}: orphan ${prev.psp_reference} at stripe recorded canceled, the PSP says ${r.body ? r.body.status : r.status}`);
        }
      }
      if (prev.outcome === 'canceled' && prev.psp === 'paypal') {
        const v = paypal.view(await world.paypal.order(prev.psp_reference));
        if (v.captured > 0 || (v.authorization && !v.voided)) f.push(`${a.intent_id}: orphan order ${prev.psp_reference} recorded canceled, PayPal holds money on it`);
      }
    }
    // An unrecorded attempt is fine when its PSP made nothing: the PSP's
    // count of objects is then exactly the engine's intents and the recorded
    // orphans. Otherwise one of them left an object nobody handled.
    for (const [name, extra] of Object.entries(unexplained)) {
      if (!(extra > 0)) continue;
      const there = unrecorded.filter((a) => a.psp === name);
      f.push(`${name} holds ${extra} object(s) backing no engine intent and no recorded orphan; ` +
        `unrecorded orphan attempts there: ${there.map((a) => `${a.intent_id} attempt ${a.attempt} (${a.reason})`).join(', ') || 'none'}`);
    }
    const failovers = attempts.filter((a) => a.attempt > 0).length;
    result('routing orphans canceled or recorded, none left holding money', f,
      `${attempts.length} routing attempts, ${failovers} failovers; orphans: ${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none recorded'}` +
      `, ${unrecorded.length} unrecorded`);
  }

  // 10. Outages: creates kept succeeding on the other PSPs.
  if (opt.outage) {
    const f = [];
    const detail = [];
    for (const o of world.counts.outages) {
      const to = o.to ?? stopAt;
      const creates = rec.ops.filter((x) => x.kind === 'create' && x.startMs >= o.from && x.startMs < to);
      const at = {};
      for (const c of creates) {
        if (!c.final || c.final.status !== 200) {
          f.push(`${o.psp} down: ${fmt(c)}`);
          continue;
        }
        at[c.psp] = (at[c.psp] || 0) + 1;
        if (c.psp === o.psp && c.final.ms + c.startMs < to) f.push(`${o.psp} down: create ${c.key} answered at ${c.psp} during its outage`);
      }
      // An error answer during the outage that blames a PSP (the engine's
      // own transient errors, e.g. while PostgreSQL restarts, are counted).
      let engineErrors = 0;
      for (const c of rec.ops.filter((x) => x.kind === 'create')) {
        for (const e of c.errors.filter((x) => x.at >= o.from && x.at < to)) {
          if (/psp|paypal|adyen|stripe|sandbox/i.test(e.message)) f.push(`${o.psp} down: create ${c.key} answered ${e.status} "${e.message}"`);
          else engineErrors++;
        }
      }
      detail.push(`${o.psp} down ${((to - o.from) / 1000).toFixed(0)} s: ${creates.length} creates, ` +
        `${Object.entries(at).sort().map(([k, v]) => `${v} at ${k}`).join(', ') || 'none answered'}` +
        `${engineErrors ? `; ${engineErrors} engine 5xx not about a PSP` : ''}`);
    }
    if (world.counts.outages.length === 0) f.push('no outage ran (the storm is too short)');
    result('during each PSP outage new creates kept succeeding on the others', f, detail.join('; '));
  }

  // 8. Audit: every version of every intent has an audit row.
  {
    const rows = await sqlRows(world.dbUrl,
      'SELECT p.id, v AS version, (SELECT string_agg(a.version || \':\' || a.actor || \'/\' || a.action, \' \' ORDER BY a.id) ' +
      'FROM audit_events a WHERE a.intent_id = p.id) AS audit FROM payment_intents p, generate_series(0, p.version) v ' +
      'WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.intent_id = p.id AND a.version = v) ORDER BY p.id, v');
    const total = await sqlRows(world.dbUrl, 'SELECT coalesce(sum(version + 1), 0)::bigint AS n FROM payment_intents');
    const intents = new Set(rows.map((r) => r.id));
    const f = rows.map((r) => `${r.id} version ${r.version} has no audit row (audit: ${r.audit})`);
    result('every intent version has an audit row', f,
      `${total[0].n} versions; ${rows.length} without an audit row, on ${intents.size} intents`);
  }
  return results;
}

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) { const item = items[i++]; await fn(item); }
  }));
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const opt = parseArgs(process.argv);
  for (const bin of Object.keys(BIN_ENV)) {
    if (!fs.existsSync(binPath(opt, bin))) {
      console.error(`storm: ${binPath(opt, bin)} is missing; build first`);
      process.exit(2);
    }
  }
  const world = new World(opt);
  const rec = new Recorder();
  const replay = `./dev.sh storm --seconds ${opt.seconds} --seed ${opt.seed} --clients ${opt.clients} --psps ${opt.psps.join(',')}` +
    `${opt.outage ? ' --outage on' : ''}${opt.adyenProbes ? '' : ' --adyen-probes off'}`;
  log(`seed ${opt.seed}, ${opt.seconds} s, ${opt.clients} clients; work folder ${world.work}`);
  let results;
  let settled;
  let stopAt;
  let exitCode = 0;
  const cleanup = async () => {
    await world.stopAll();
    await world.dropDatabase();
    await world.stopPostgres(opt.keep);
  };
  process.on('SIGINT', () => { cleanup().finally(() => process.exit(130)); });
  process.on('SIGTERM', () => { cleanup().finally(() => process.exit(143)); });
  try {
    await world.startPostgres();
    await world.createDatabase();
    await world.startSandbox();
    await world.startEngine(null);
    log(`engine on ${world.engineUrl('')}, sandbox on ${world.sandboxUrl}, database ${world.dbName}`);
    if (opt.outage) {
      // Routing over every PSP of the storm, weighted about alike: a create's
      // order is drawn from its intent id, and a create fails over down it.
      // Equal weights would mean a fixed order (core/routing.cpp): nearly
      // equal ones spread the creates about evenly.
      const r = await http('POST', world.engineUrl('/v1/routing'), {
        headers: { Authorization: `Bearer ${world.apiKey}` },
        json: { default_psps: opt.psps.map((p, i) => ({ psp: p, weight: 100 + i })) },
      });
      if (r.status !== 200) throw new Error(`POST /v1/routing answered ${r.status}: ${r.text.slice(0, 300)}`);
      log(`routing: ${opt.psps.join(', ')} (weighted about alike), with failover`);
    }

    stopAt = now() + opt.seconds * 1000;
    const clients = Array.from({ length: opt.clients }, (_, i) => new Client(world, rec, i, opt));
    const chaosDone = chaos(world, opt, stopAt);
    const clientsDone = Promise.all([...clients.map((c) => c.run(stopAt)),
      ...(opt.outage ? [new Client(world, rec, 'probe', opt).probe(stopAt)] : [])]);
    await chaosDone;
    log('storm over: faults off, engine up without failpoint; clients finish their flows');
    await world.setFaults({});
    await world.stopDroppingWebhooks();
    await world.ensureEngineUp();
    await clientsDone;
    log(`clients done; settling (up to ${opt.settleSeconds} s)`);
    settled = await settle(world, opt);
    log(`settled: ${JSON.stringify(settled)}`);
    const adyenReport = await settleAdyen(world, opt);
    log(`adyen settled: report ${adyenReport.file}, ${adyenReport.rows.length} lines, ${adyenReport.payouts} payouts booked`);
    if (opt.psps.includes('paypal')) {
      const withdrawals = await settlePayPal(world, opt);
      log(`paypal settled: ${withdrawals.length} withdrawals booked`);
    }
    results = await check(world, rec, opt, adyenReport, stopAt);
  } catch (e) {
    console.error(`storm: set-up or run failed: ${e.stack || e}`);
    console.error(`replay: ${replay}; logs in ${world.work}`);
    await cleanup();
    process.exit(2);
  }
  await cleanup();

  // ---- report ----
  const answers = {};
  for (const o of rec.ops) {
    const k = `${o.psp} ${o.kind} ${o.final ? o.final.status : 'none'}`;
    answers[k] = (answers[k] || 0) + 1;
  }
  const c = world.counts;
  const table = [
    ['seed', opt.seed], ['duration (s)', opt.seconds], ['clients', opt.clients],
    ['PSPs', opt.psps.join(', ')],
    ['flows', rec.flows], ...Object.entries(rec.flowKinds).sort().map(([k, v]) => [`  ${k}`, v]),
    ...Object.entries(rec.flowsByPsp).sort().map(([k, v]) => [`  at ${k}`, v]),
    ['engine requests (with retries)', Object.values(rec.attemptStatus).reduce((a, b) => a + b, 0)],
    ['operations (keys)', rec.ops.length],
    ['shopper confirmations / declines / 3DS (failed)', `${rec.shopper.confirms} / ${rec.shopper.declines} / ${rec.shopper.threeDs} (${rec.shopper.threeDsFailed})`],
    ['engine SIGKILLs', c.kills], ['engine restarts', c.restarts],
    ['restarts with a failpoint', Object.entries(c.failpointStarts).map(([k, v]) => `${k} ${v}`).join(', ') || '0'],
    ['failpoints fired (exit 137)', Object.entries(c.failpointFired).map(([k, v]) => `${k} ${v}`).join(', ') || '0'],
    ['other engine exits', c.unexpectedExits],
    ['PostgreSQL immediate restarts', world.ownCluster ? c.pgRestarts : '0 (database given: not restarted)'],
    ['webhooks never delivered (dropped for good)', world.droppedEventIds().size],
    ['adyen notification items / POSTs (answers)', `${world.notifications.items.size} / ${world.notifications.posts} (${Object.entries(world.notifications.forwardStatus).sort().map(([k, v]) => `${k} ${v}`).join(', ')})`],
    ['sandbox fault phases', Object.entries(c.faultPhases).sort().map(([k, v]) => `${k} ${v}`).join(', ')],
    ['PSP outages', c.outages.map((o) => `${o.psp} ${(((o.to ?? stopAt) - o.from) / 1000).toFixed(0)} s`).join(', ') || 'none'],
    ['longest wait for a final answer (s)', (Math.max(0, ...rec.ops.filter((o) => o.final).map((o) => o.final.ms)) / 1000).toFixed(1)],
    ['settled', settled.drained ? 'yes' : `no (${JSON.stringify(settled)})`],
    ['attempt answers', Object.entries(rec.attemptStatus).sort().map(([k, v]) => `${k === '0' ? 'none' : k} ${v}`).join(', ')],
    ...Object.entries(answers).sort().map(([k, v]) => [`final: ${k}`, v]),
  ];
  const w = Math.max(...table.map(([k]) => k.length));
  console.log('\n==== crash storm ====');
  for (const [k, v] of table) console.log(`${k.padEnd(w)}  ${v}`);
  console.log('\n==== invariants ====');
  for (const r of results) {
    const pass = r.failures.length === 0;
    if (!pass) exitCode = 1;
    console.log(`${pass ? 'PASS' : 'FAIL'}  ${r.name}${r.detail ? `  (${r.detail})` : ''}`);
    if (!pass) {
      console.log(`      ${r.failures.length} failure(s), e.g.:`);
      for (const x of r.failures.slice(0, 8)) console.log(`      - ${x}`);
    }
  }
  const reportFile = path.join(world.work, 'report.json');
  fs.writeFileSync(reportFile, JSON.stringify({ seed: opt.seed, seconds: opt.seconds, counts: c,
    flows: rec.flows, flowKinds: rec.flowKinds, flowsByPsp: rec.flowsByPsp, answers, settled, results,
    ops: rec.ops, database: world.dbName,
    adyen_notifications: [...world.notifications.items].map(([id, n]) => ({ id, ...world.notifications.seen.get(id),
      merchantReference: n.merchantReference, originalReference: n.originalReference, value: n.amount.value })) }, null, 1));
  console.log(`\n${exitCode === 0 ? 'PASS' : 'FAIL'}: seed ${opt.seed}; replay with: ${replay}`);
  if (exitCode === 0 && !opt.keep && !opt.work) { // never delete a folder we were given
    fs.rmSync(world.work, { recursive: true, force: true });
  } else {
    console.log(`every operation and its answers: ${reportFile}; logs in ${world.work}`);
  }
  process.exit(exitCode);
}

// tests/storm/adyen_defects.js builds its world from these.
if (require.main === module) main();
else module.exports = { World, http, sleep, sqlRows, parseArgs };
