// The crash storm's Adyen side (docs/reliability.md): the shopper paying an
// Adyen session at the sandbox as the card component would, a recorder of
// every notification the sandbox sends, and the PSP's view of each payment
// rebuilt from those notifications and checked against the sandbox's own
// settlement report (Adyen has no read of a payment by id).
'use strict';

const http = require('node:http');

// Adyen's test cards (docs/sandbox.md, "Test cards"); expiry 03/2030, CVC 737.
const CARDS_OK = ['4111111145551142', '5555341244441115', '2222400070000005'];
const CARDS_3DS = ['5454545454545454', '4917610000000000'];
// Holder names the sandbox's acquirer answers with a refusal.
const HOLDERS_REFUSED = ['DECLINED', 'NOT_ENOUGH_BALANCE'];

// The signing fields make one notification's identity, as the engine's inbox
// names it (psp/adyen/adyen_webhooks.cpp: eventCode:pspReference:success).
function itemId(n) { return `${n.eventCode}:${n.pspReference}:${n.success}`; }

// Receives the sandbox's notification batches, records every item, and
// forwards the batch unchanged to the engine, answering the sandbox what the
// engine answered (so the sandbox retries until the engine says [accepted]).
// A transparent hop: it never answers for the engine, drops or invents nothing.
class NotificationRecorder {
  constructor(engineUrl, t0 = Date.now()) {
    this.t0 = t0;
    this.engineUrl = engineUrl; // () => the engine's Adyen webhook URL
    this.items = new Map();     // itemId -> item (first seen)
    this.seen = new Map();      // itemId -> { first: ms, accepted: ms or null } since T0
    this.posts = 0;
    this.forwardStatus = {};
  }

  start() {
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.posts++;
        const ids = [];
        try {
          const batch = JSON.parse(body);
          for (const wrap of batch.notificationItems || []) {
            const n = wrap.NotificationRequestItem;
            if (!n) continue;
            ids.push(itemId(n));
            if (!this.items.has(itemId(n))) {
              this.items.set(itemId(n), n);
              this.seen.set(itemId(n), { first: Date.now() - this.t0, accepted: null });
            }
          }
        } catch { /* not JSON: the engine will say so */ }
        let status = 502;
        let text = 'engine unreachable';
        try {
          const r = await fetch(this.engineUrl(), {
            method: 'POST', body, signal: AbortSignal.timeout(10000),
            headers: { 'Content-Type': req.headers['content-type'] || 'application/json' },
          });
          status = r.status;
          text = await r.text();
        } catch { /* engine down: the sandbox retries */ }
        this.forwardStatus[status] = (this.forwardStatus[status] || 0) + 1;
        if (status >= 200 && status < 300) {
          for (const id of ids) {
            const s = this.seen.get(id);
            if (s && s.accepted === null) s.accepted = Date.now() - this.t0;
          }
        }
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(text);
      });
    });
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${this.server.address().port}/notifications`;
      resolve();
    }));
  }

  stop() { return new Promise((r) => (this.server ? this.server.close(r) : r())); }
}

// The shopper at the sandbox: pays the intent's session with a card, going
// through the 3-D Secure challenge when asked. Answers Adyen's resultCode, or
// 'no answer' / 'error N'. The client endpoints take no Idempotency-Key (as
// at Adyen); the sandbox is never killed, so an attempt is repeated only when
// it never reached it (connection refused).
async function pay(httpFn, sandboxUrl, clientKey, flow, { card, holder = 'Storm Shopper', password }) {
  const secret = JSON.parse(flow.clientSecret);
  const q = `?clientKey=${encodeURIComponent(clientKey)}`;
  const base = `${sandboxUrl}/adyen/checkoutshopper/v1/sessions/${secret.id}`;
  const post = async (url, json) => {
    for (let i = 0; i < 20; i++) {
      const r = await httpFn('POST', url, { json, timeoutMs: 15000 });
      if (r.status !== 0 || !/ECONNREFUSED/.test(r.text)) return r;
      await new Promise((res) => setTimeout(res, 200));
    }
    return { status: 0, text: 'no answer', body: null };
  };
  const r = await post(`${base}/payments${q}`, {
    sessionData: secret.sessionData,
    paymentMethod: { type: 'scheme', encryptedCardNumber: `test_${card}`, encryptedExpiryMonth: 'test_03',
      encryptedExpiryYear: 'test_2030', encryptedSecurityCode: 'test_737', holderName: holder },
  });
  if (r.status !== 200 || !r.body) return r.status === 0 ? 'no answer' : `error ${r.status}`;
  if (r.body.resultCode !== 'ChallengeShopper') return r.body.resultCode;
  if (password === null) return 'ChallengeShopper'; // the shopper leaves the challenge
  const c = await post(`${sandboxUrl}/adyen/threeds2/challenge`,
    { token: r.body.action.token, password: password || 'password' });
  if (c.status !== 200 || !c.body) return c.status === 0 ? 'no answer' : `error ${c.status}`;
  const d = await post(`${base}/paymentDetails${q}`,
    { sessionData: secret.sessionData, details: { threeDSResult: c.body.threeDSResult } });
  if (d.status !== 200 || !d.body) return d.status === 0 ? 'no answer' : `error ${d.status}`;
  return d.body.resultCode;
}

// "1234.56" in a currency with `exp` decimals, as minor units.
function minor(text, exp = 2) {
  if (!text) return 0;
  const [whole, frac = ''] = String(text).split('.');
  return Number(whole) * 10 ** exp + Number((frac + '0'.repeat(exp)).slice(0, exp) || 0);
}

// The sandbox's settlement details report (CSV, fields without commas in a
// storm) as rows of objects.
function parseReport(csv) {
  const lines = csv.trim().split('\n');
  const head = lines.shift().split(',');
  return lines.map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(head.map((h, i) => [h, cells[i] || '']));
  });
}

// What the PSP did, per engine intent, from every notification the sandbox
// sent: { payments: [{psp, value, authorised}], authorised (the payment or
// null), captured, captureOk: [...], canceled, refunds: Map(psp -> value) }.
function pspView(items) {
  const byIntent = new Map();
  const paymentIntent = new Map(); // payment psp -> engine intent id
  const view = (id) => {
    if (!byIntent.has(id)) {
      byIntent.set(id, { payments: [], authorised: null, captures: [], captureFailed: [], canceled: false,
        cancelRefused: 0, refunds: new Map(), refundsRefused: [] });
    }
    return byIntent.get(id);
  };
  const list = [...items.values()];
  for (const n of list) {
    if (n.eventCode !== 'AUTHORISATION') continue;
    const v = view(n.merchantReference);
    const p = { psp: n.pspReference, value: n.amount.value, currency: n.amount.currency,
      authorised: n.success === 'true' };
    v.payments.push(p);
    if (p.authorised) {
      if (v.authorised) v.twoAuthorised = true;
      v.authorised = p;
    }
    paymentIntent.set(n.pspReference, n.merchantReference);
  }
  const problems = [];
  for (const n of list) {
    if (n.eventCode === 'AUTHORISATION' || n.eventCode === 'REPORT_AVAILABLE') continue;
    const id = paymentIntent.get(n.originalReference);
    if (!id) { problems.push(`${itemId(n)} names payment ${n.originalReference}, which no AUTHORISATION named`); continue; }
    const v = view(id);
    const ok = n.success === 'true';
    switch (n.eventCode) {
      case 'CAPTURE': (ok ? v.captures : v.captureFailed).push({ psp: n.pspReference, value: n.amount.value }); break;
      case 'CAPTURE_FAILED': v.captureFailed.push({ psp: n.pspReference, value: n.amount.value, after: true }); break;
      case 'CANCELLATION': if (ok) v.canceled = true; else v.cancelRefused++; break;
      case 'REFUND':
        if (ok) v.refunds.set(n.pspReference, n.amount.value);
        else v.refundsRefused.push({ psp: n.pspReference, value: n.amount.value });
        break;
      case 'REFUND_FAILED': v.refunds.delete(n.pspReference); break;
      default: problems.push(`unexpected ${itemId(n)}`);
    }
  }
  return { byIntent, problems };
}

module.exports = { CARDS_OK, CARDS_3DS, HOLDERS_REFUSED, NotificationRecorder, pay, itemId, minor,
  parseReport, pspView };
