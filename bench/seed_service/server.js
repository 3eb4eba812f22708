// The seed-style service bench/run.sh measures next to the engine (issue 17).
// TEST-ONLY: not part of the product, never deployed. It is the plain
// service a team would write from the seed's description, on purpose with no
// engine machinery: Node/Express, pg, Stripe's Node SDK.
//
//   POST /v1/payment_intents  (Authorization: Bearer SEED_API_KEY,
//                              Idempotency-Key: ..., JSON {amount, currency, capture_method})
//     1. one SELECT for the key (a stored answer is replayed as is);
//     2. one PSP call: stripe.paymentIntents.create(..., {idempotencyKey});
//     3. one INSERT of the intent and its key (with the answer), then 200.
//   GET /healthz
//
// Environment:
//   SEED_DATABASE_URL    its own scratch database (it creates its table)
//   SEED_API_KEY         the one API key it accepts (compared in memory: no lookup)
//   SEED_PSP_URL         the sandbox PSP, http://127.0.0.1:PORT
//   SEED_PSP_SECRET_KEY  the sandbox's secret key
//   SEED_PORT            port to listen on (0: a free one), on 127.0.0.1
//   SEED_PORT_FILE       where the chosen port is written once every worker listens
//   SEED_WORKERS         processes serving requests (node's cluster module); default:
//                        as many as cores (os.availableParallelism()); 1: no cluster
//   SEED_POOL_MAX        pg pool size per process (default 10, pg's own default)
'use strict';

const cluster = require('node:cluster');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');

const express = require('express');
const { Pool } = require('pg');
const Stripe = require('stripe');

function env(name, fallback) {
  const v = process.env[name];
  if (v !== undefined && v !== '') return v;
  if (fallback !== undefined) return fallback;
  console.error(`seed_service: ${name} is not set`);
  process.exit(2);
}

function positiveInt(name, fallback) {
  const v = Number(env(name, String(fallback)));
  if (!Number.isInteger(v) || v < 1 || v > 256) {
    console.error(`seed_service: ${name} must be an integer in 1..256`);
    process.exit(2);
  }
  return v;
}

const DATABASE_URL = env('SEED_DATABASE_URL');
const API_KEY = env('SEED_API_KEY');
const PSP_URL = new URL(env('SEED_PSP_URL'));
const PSP_SECRET_KEY = env('SEED_PSP_SECRET_KEY');
const WORKERS = positiveInt('SEED_WORKERS', os.availableParallelism());
const POOL_MAX = positiveInt('SEED_POOL_MAX', 10);
const HOST = '127.0.0.1';
const IDEMPOTENCY_KEY_LENGTH_MAX = 255;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS payment_intents (
  id              text PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  psp_id          text NOT NULL,
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL,
  capture_method  text NOT NULL,
  status          text NOT NULL,
  response        jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
)`;

function apiError(res, status, type, message, param) {
  res.status(status).json({ error: { type, message, ...(param ? { param } : {}) } });
}

function keyMatches(header) {
  const given = Buffer.from(header || '');
  const want = Buffer.from(`Bearer ${API_KEY}`);
  return given.length === want.length && crypto.timingSafeEqual(given, want);
}

function serve(port) {
  const pool = new Pool({ connectionString: DATABASE_URL, max: POOL_MAX });
  pool.on('error', (err) => console.error('seed_service: idle pg client error:', err.message));
  const stripe = new Stripe(PSP_SECRET_KEY, {
    host: PSP_URL.hostname,
    port: Number(PSP_URL.port),
    protocol: PSP_URL.protocol.replace(':', ''),
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  app.get('/healthz', (req, res) => res.json({ ok: true }));

  app.post('/v1/payment_intents', async (req, res, next) => {
    try {
      if (!keyMatches(req.get('Authorization')))
        return apiError(res, 401, 'authentication_error', 'Invalid API key.');
      const key = req.get('Idempotency-Key');
      if (!key || key.length > IDEMPOTENCY_KEY_LENGTH_MAX)
        return apiError(res, 400, 'invalid_request_error',
                        'An Idempotency-Key header of 1 to 255 characters is required.',
                        'Idempotency-Key');
      const body = req.body || {};
      const amount = body.amount;
      const currency = typeof body.currency === 'string' ? body.currency.toLowerCase() : '';
      const captureMethod = body.capture_method === undefined ? 'automatic' : body.capture_method;
      if (!Number.isSafeInteger(amount) || amount <= 0)
        return apiError(res, 400, 'invalid_request_error',
                        'amount must be a positive integer in minor units.', 'amount');
      if (!/^[a-z]{3}$/.test(currency))
        return apiError(res, 400, 'invalid_request_error',
                        'currency must be a three-letter ISO code.', 'currency');
      if (captureMethod !== 'automatic' && captureMethod !== 'manual')
        return apiError(res, 400, 'invalid_request_error',
                        'capture_method must be automatic or manual.', 'capture_method');

      // 1. The key: a stored answer is the answer.
      const found = await pool.query(
        'SELECT response FROM payment_intents WHERE idempotency_key = $1', [key]);
      if (found.rows.length > 0) {
        res.set('Idempotent-Replayed', 'true');
        return res.status(200).json(found.rows[0].response);
      }

      // 2. The PSP call, under the same key (a retry never makes a second one).
      const id = `pi_seed_${crypto.randomBytes(12).toString('hex')}`;
      let psp;
      try {
        psp = await stripe.paymentIntents.create(
          { amount, currency, capture_method: captureMethod, payment_method_types: ['card'],
            metadata: { seed_intent_id: id } },
          { idempotencyKey: key });
      } catch (err) {
        const status = err.statusCode && err.statusCode < 500 ? 402 : 502;
        return apiError(res, status, 'psp_error', `The PSP refused or failed: ${err.message}`);
      }

      // 3. One INSERT of the intent and its key, with the answer to replay.
      const intent = {
        id, object: 'payment_intent', amount, currency, capture_method: captureMethod,
        status: psp.status, psp_reference: psp.id, client_secret: psp.client_secret,
        created: Math.floor(Date.now() / 1000),
      };
      const inserted = await pool.query(
        `INSERT INTO payment_intents
           (id, idempotency_key, psp_id, amount, currency, capture_method, status, response)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
        [id, key, psp.id, amount, currency, captureMethod, psp.status, intent]);
      if (inserted.rows.length === 0) {
        // A concurrent request with the same key stored first: its answer wins.
        const winner = await pool.query(
          'SELECT response FROM payment_intents WHERE idempotency_key = $1', [key]);
        res.set('Idempotent-Replayed', 'true');
        return res.status(200).json(winner.rows[0].response);
      }
      return res.status(200).json(intent);
    } catch (err) {
      return next(err);
    }
  });

  app.use((req, res) => apiError(res, 404, 'invalid_request_error', 'No such route.'));
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    if (err.type === 'entity.parse.failed')
      return apiError(res, 400, 'invalid_request_error', 'The body is not valid JSON.');
    console.error('seed_service:', err.message);
    return apiError(res, 503, 'api_error', 'Storage failed; retry with the same key.');
  });

  const server = app.listen(port, HOST, () => {
    if (cluster.isWorker) process.send({ listening: server.address().port });
    else announce(server.address().port);
  });
  const stop = () => server.close(() => pool.end().finally(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function announce(port) {
  const file = process.env.SEED_PORT_FILE;
  if (file) {
    fs.writeFileSync(`${file}.tmp`, `${port}\n`);
    fs.renameSync(`${file}.tmp`, file);
  }
  console.log(`seed_service: listening on ${HOST}:${port} with ${WORKERS} process(es), ` +
              `pg pool ${POOL_MAX} each`);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function main() {
  if (!cluster.isPrimary) return serve(Number(process.env.SEED_WORKER_PORT));
  // The schema, once, before any process serves.
  const admin = new Pool({ connectionString: DATABASE_URL, max: 1 });
  await admin.query(SCHEMA);
  await admin.end();
  let port = Number(env('SEED_PORT', '0'));
  if (WORKERS === 1) return serve(port);
  if (port === 0) port = await freePort();
  let listening = 0;
  const stopAll = () => { for (const w of Object.values(cluster.workers)) w.kill('SIGTERM'); };
  process.on('SIGTERM', stopAll);
  process.on('SIGINT', stopAll);
  for (let i = 0; i < WORKERS; ++i) {
    const worker = cluster.fork({ SEED_WORKER_PORT: String(port) });
    worker.on('message', (m) => {
      if (m && m.listening && ++listening === WORKERS) announce(port);
    });
  }
  cluster.on('exit', (worker, code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0)
      console.error(`seed_service: worker ${worker.process.pid} exited (${signal || code})`);
    if (Object.keys(cluster.workers).length === 0) process.exit(0);
  });
}

main().catch((err) => {
  console.error('seed_service: could not start:', err.message);
  process.exit(1);
});
