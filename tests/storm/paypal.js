// The crash storm's PayPal side (docs/reliability.md): the buyer approving
// an order at the sandbox (its test control, as the approval page's button
// does; tests/integration/paypal_engine_test.cpp does the same), and the
// PSP's view of each payment read back from the sandbox's order in full
// (authorizations, captures, refunds), checked against the engine.
'use strict';

// The funding choices of the sandbox's approval page (docs/sandbox.md,
// "PayPal mode"): `balance` pays, `deny_capture` makes the capture DECLINED.
const FUNDING_OK = 'balance';
const FUNDING_DENIED = 'deny_capture';

// PayPal's decimal exponents for the storm's currencies.
const EXPONENT = { usd: 2, eur: 2, jpy: 0 };

function minor(value, currency) {
  if (!value) return 0;
  const exp = EXPONENT[String(currency).toLowerCase()] ?? 2;
  const [whole, frac = ''] = String(value).split('.');
  return Number(whole) * 10 ** exp + Number((frac + '0'.repeat(exp)).slice(0, exp) || 0);
}

// The REST app's credentials and a cached access token (the sandbox answers
// the same token while it is valid).
class PayPalClient {
  constructor(httpFn, baseUrl, clientId, clientSecret) {
    this.http = httpFn;
    this.base = baseUrl; // http://HOST:PORT/paypal
    this.basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
    this.token = null;
  }

  async bearer() {
    if (this.token) return this.token;
    for (let i = 0; i < 50; i++) {
      const r = await this.http('POST', `${this.base}/v1/oauth2/token`, {
        headers: { Authorization: this.basic }, form: { grant_type: 'client_credentials' }, timeoutMs: 10000,
      });
      if (r.status === 200 && r.body && r.body.access_token) {
        this.token = r.body.access_token;
        return this.token;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('the PayPal sandbox gave no access token');
  }

  // The buyer approves the order with `funding` (the test control is never
  // failed by fault knobs; repeated only when it never reached the sandbox).
  // Answers 'approved' or 'error N' / 'no answer'.
  async approve(orderId, funding) {
    for (let i = 0; i < 20; i++) {
      const r = await this.http('POST', `${this.base}/_sandbox/orders/${orderId}/approve`, {
        headers: { Authorization: this.basic }, json: { funding }, timeoutMs: 15000,
      });
      if (r.status === 200) return 'approved';
      if (r.status !== 0) return `error ${r.status}`;
      await new Promise((res) => setTimeout(res, 200));
    }
    return 'no answer';
  }

  // The order in full, or null (read after the storm, faults off).
  async order(orderId) {
    for (let i = 0; i < 20; i++) {
      const r = await this.http('GET', `${this.base}/v2/checkout/orders/${orderId}`, {
        headers: { Authorization: `Bearer ${await this.bearer()}`, Prefer: 'return=representation' },
      });
      if (r.status === 200 && r.body) return r.body;
      if (r.status === 401) this.token = null;
      await new Promise((res) => setTimeout(res, 250));
    }
    return null;
  }

  // Every event the sandbox made (its last 2000), delivered or not.
  async eventIds() {
    const r = await this.http('GET', `${this.base}/_sandbox/events`, { headers: { Authorization: this.basic } });
    if (r.status !== 200 || !r.body) throw new Error(`paypal events list answered ${r.status}`);
    const list = Array.isArray(r.body) ? r.body : r.body.events || r.body.data || r.body.items || [];
    return list.map((e) => e.id);
  }

  // Withdraws every currency's balance (Transaction Search rows T0400).
  async settle() {
    const r = await this.http('POST', `${this.base}/_sandbox/settle`, { headers: { Authorization: this.basic }, json: {} });
    if (r.status !== 200 || !r.body) throw new Error(`paypal settle answered ${r.status}: ${r.text.slice(0, 200)}`);
    return r.body.withdrawals || [];
  }
}

// What PayPal did for one order: { status, value, authorization (or null),
// authorizedValue, voided, captured (completed captures), captures (all),
// refunds: Map(id -> value) (completed) }.
function view(order) {
  const v = { status: order ? order.status : 'missing', authorization: null, authorizedValue: 0, voided: false,
    captured: 0, captures: [], declined: 0, refunds: new Map(), currency: null };
  if (!order) return v;
  const unit = (order.purchase_units || [])[0] || {};
  v.currency = unit.amount ? unit.amount.currency_code : null;
  v.value = minor(unit.amount && unit.amount.value, v.currency);
  const payments = unit.payments || {};
  const auths = payments.authorizations || [];
  if (auths.length > 1) v.twoAuthorizations = auths.map((a) => a.id);
  if (auths.length) {
    const a = auths[0];
    v.authorization = a;
    v.authorizedValue = minor(a.amount && a.amount.value, v.currency);
    v.voided = a.status === 'VOIDED';
  }
  for (const c of payments.captures || []) {
    const value = minor(c.amount && c.amount.value, v.currency);
    v.captures.push({ id: c.id, status: c.status, value });
    if (c.status === 'COMPLETED' || c.status === 'PARTIALLY_REFUNDED' || c.status === 'REFUNDED') v.captured += value;
    if (c.status === 'DECLINED') v.declined++;
  }
  for (const r of payments.refunds || []) {
    if (r.status === 'COMPLETED') v.refunds.set(r.id, minor(r.amount && r.amount.value, v.currency));
  }
  return v;
}

module.exports = { FUNDING_OK, FUNDING_DENIED, PayPalClient, view, minor };
