// The inspector console: plain DOM, no framework, no network beyond the
// engine itself. Every view is a fetch of a /v1/admin JSON view with the admin
// token as a bearer header, re-rendered on a timer so the page stays live.
// Text from the engine (keys, causes, event ids) only ever goes into
// textContent, never into HTML.
'use strict';

(function () {
  const TOKEN_KEY = 'payments.inspector.token';
  const REFRESH_MS = 1500;

  const $ = (id) => document.getElementById(id);
  let timer = null;
  let generation = 0;  // views started; an older view's late answer is dropped
  let actorKind = '';
  let notice = null;  // { text, until }: the outcome of an action, kept a few seconds

  // ---- DOM helpers ---------------------------------------------------------

  /** el('td', {class: 'num'}, 'text', child, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function table(id, headers, rows) {
    return el('table', { id },
      el('thead', {}, el('tr', {}, headers.map((h) =>
        el('th', { class: h.num ? 'num' : undefined }, h.label || h)))),
      el('tbody', {}, rows.length ? rows
        : el('tr', {}, el('td', { colspan: headers.length, class: 'muted' }, 'none'))));
  }

  function card(label, value, id) {
    return el('div', { class: 'card' }, el('div', { class: 'label' }, label),
      el('div', { class: 'value', id }, value));
  }

  function badge(text, tone) {
    return el('span', { class: 'badge ' + (tone || '') }, text);
  }

  function when(ms) {
    if (!ms) return '-';
    return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  }

  function age(ms) {
    if (ms === null || ms === undefined) return '-';
    if (ms < 1000) return ms + ' ms';
    if (ms < 120000) return (ms / 1000).toFixed(1) + ' s';
    return Math.round(ms / 60000) + ' min';
  }

  function money(minor) {
    return String(minor);
  }

  function stateTone(state) {
    if (['captured', 'refunded', 'closed', 'connected', 'idle', 'routing',
         'supervising'].includes(state)) return 'ok';
    if (['open', 'disconnected', 'load_failed', 'canceled', 'expired'].includes(state)) return 'bad';
    if (['half_open', 'claiming', 'requires_action', 'processing'].includes(state)) return 'warn';
    return '';
  }

  // ---- API -----------------------------------------------------------------

  class Unauthorized extends Error {}

  async function api(method, path) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) throw new Unauthorized('not logged in');
    const res = await fetch(path, {
      method,
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) throw new Unauthorized('the admin token was refused');
    if (!res.ok) {
      const message = body.error && body.error.message ? body.error.message : res.statusText;
      const err = new Error(message);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function setStatus(text, stale) {
    const s = $('status');
    s.textContent = text;
    s.className = stale ? 'stale' : '';
  }

  // ---- views ---------------------------------------------------------------

  async function viewActors() {
    const q = new URLSearchParams({ limit: '200' });
    if (actorKind) q.set('kind', actorKind);
    const list = await api('GET', '/v1/admin/actors?' + q);
    const chips = el('div', { class: 'chips', id: 'kind-filter' },
      el('button', { class: 'chip' + (actorKind ? '' : ' active'), 'data-kind': '',
                     onclick: () => { actorKind = ''; refresh(); } }, `all (${list.total})`),
      Object.entries(list.counts).map(([kind, n]) =>
        el('button', { class: 'chip' + (actorKind === kind ? ' active' : ''), 'data-kind': kind,
                       onclick: () => { actorKind = kind; refresh(); } }, `${kind} (${n})`)));
    const rows = list.data.map((a) => el('tr', { 'data-kind': a.kind, 'data-key': a.key },
      el('td', {}, a.kind),
      el('td', { class: 'mono' }, a.kind === 'payment_intent'
        ? el('a', { href: '#intent/' + encodeURIComponent(a.key), class: 'intent-link' }, a.key)
        : a.key),
      el('td', {}, badge(a.state || '-', stateTone(a.state))),
      el('td', { class: 'num' }, a.version === null ? '-' : a.version),
      el('td', { class: 'num' }, a.mailbox_depth),
      el('td', { class: 'num' }, a.messages_handled),
      el('td', { class: 'mono' }, a.last_message || '-'),
      el('td', { class: 'num' }, age(a.last_message_age_ms)),
      el('td', { class: 'num' }, a.restarts)));
    return [
      el('h2', {}, 'Live actors'),
      chips,
      table('actors-table', ['kind', 'key', 'state', { label: 'version', num: true },
        { label: 'mailbox', num: true }, { label: 'handled', num: true }, 'last message',
        { label: 'last message age', num: true }, { label: 'restarts', num: true }], rows),
      list.has_more ? el('p', { class: 'muted' }, 'More actors are alive than listed here.') : null,
    ];
  }

  async function viewIntent(id) {
    const v = await api('GET', '/v1/admin/intents/' + encodeURIComponent(id));
    const live = v.actor;
    const timeline = v.timeline.data.map((e) => el('tr', {},
      el('td', { class: 'mono' }, when(e.created_ms)),
      el('td', {}, e.actor),
      el('td', {}, e.action),
      el('td', {}, e.from || '-', ' \u2192 ', e.to || '-'),
      el('td', { class: 'num' }, e.version),
      el('td', {}, e.cause)));
    const postings = [];
    for (const t of v.postings.data) {
      for (const e of t.entries) {
        postings.push(el('tr', {},
          el('td', { class: 'mono' }, t.id),
          el('td', {}, t.kind),
          el('td', { class: 'mono' }, e.account_key),
          el('td', { class: 'num' }, money(e.debit)),
          el('td', { class: 'num' }, money(e.credit)),
          el('td', {}, e.currency)));
      }
    }
    return [
      el('h2', {}, 'Payment intent ', el('span', { class: 'mono', id: 'intent-title' }, v.id)),
      el('div', { class: 'cards' },
        card('state', badge(v.state, stateTone(v.state)), 'intent-state'),
        card('version', v.version, 'intent-version'),
        card('amount', `${money(v.intent.amount)} ${v.intent.currency}`),
        card('received', money(v.intent.amount_received)),
        card('refunded', money(v.intent.amount_refunded)),
        card('actor', live ? `live, mailbox ${live.mailbox_depth}` : 'not live', 'intent-actor'),
        card('merchant', v.merchant)),
      el('h3', {}, 'Audit timeline'),
      table('timeline-table', ['time (UTC)', 'actor', 'action', 'transition',
        { label: 'version', num: true }, 'cause'], timeline),
      el('h3', {}, 'Ledger postings'),
      table('postings-table', ['transaction', 'kind', 'account', { label: 'debit', num: true },
        { label: 'credit', num: true }, 'currency'], postings),
    ];
  }

  async function viewGateways() {
    const list = await api('GET', '/v1/admin/gateways');
    const rows = list.data.map((g) => el('tr', { 'data-psp': g.psp },
      el('td', {}, g.psp),
      el('td', {}, badge(g.breaker_state, stateTone(g.breaker_state))),
      el('td', { class: 'num' }, g.consecutive_failures),
      el('td', { class: 'num' }, g.trips),
      el('td', { class: 'num' }, g.in_flight),
      el('td', { class: 'num' }, g.latency.p50_ms === null ? '-' : g.latency.p50_ms + ' ms'),
      el('td', { class: 'num' }, g.latency.p99_ms === null ? '-' : g.latency.p99_ms + ' ms'),
      el('td', { class: 'num' }, g.latency.samples),
      el('td', { class: 'num' }, g.retry_after_ms ? age(g.retry_after_ms) : '-')));
    return [
      el('h2', {}, 'PSP gateways'),
      table('gateways-table', ['PSP', 'breaker', { label: 'failures in a row', num: true },
        { label: 'trips', num: true }, { label: 'in flight', num: true },
        { label: 'p50', num: true }, { label: 'p99', num: true },
        { label: 'calls in window', num: true }, { label: 'reopens in', num: true }], rows),
    ];
  }

  async function viewDisputes() {
    const list = await api('GET', '/v1/admin/disputes');
    const left = (d) => d.seconds_left === null ? '-'
      : d.seconds_left < 0 ? 'passed'
        : d.seconds_left < 7200 ? Math.round(d.seconds_left / 60) + ' min'
          : (d.seconds_left / 3600).toFixed(1) + ' h';
    const rows = list.data.map((d) => el('tr', { 'data-dispute': d.id },
      el('td', {}, d.id),
      el('td', {}, el('a', { href: '#intent/' + d.payment_intent }, d.payment_intent)),
      el('td', {}, d.merchant),
      el('td', {}, d.psp),
      el('td', {}, badge(d.status, d.deadline_near ? 'bad' : 'warn')),
      el('td', { class: 'num' }, d.amount + ' ' + d.currency),
      el('td', {}, d.reason),
      el('td', { class: 'num' }, left(d))));
    return [
      el('h2', {}, 'Open disputes'),
      el('p', {}, 'Disputes not yet won or lost, nearest evidence deadline first; red: due ' +
        'within two days.'),
      table('disputes-table', ['dispute', 'payment intent', 'merchant', 'PSP', 'status',
        { label: 'amount', num: true }, 'reason', { label: 'deadline in', num: true }], rows),
    ];
  }

  async function viewSuspense() {
    const list = await api('GET', '/v1/admin/suspense?status=all');
    const rows = list.data.map((x) => el('tr', { 'data-suspense': x.id },
      el('td', {}, x.id),
      el('td', {}, x.psp),
      el('td', {}, badge(x.status, x.status === 'open' ? 'warn' : 'ok')),
      el('td', {}, x.type + ' ' + x.source),
      el('td', {}, x.payout),
      el('td', { class: 'num' }, x.amount + ' ' + x.currency),
      el('td', { class: 'num' }, String(x.fee)),
      el('td', {}, x.reason),
      el('td', {}, x.clearing ? x.clearing.account + ': ' + (x.clearing.reason || '') : '-')));
    return [
      el('h2', {}, 'Suspense'),
      el('p', {}, 'PSP money the engine could not attribute, booked to suspense; an operator ' +
        'clears an item with POST /v1/admin/suspense/{id}/clear {account, reason}.'),
      table('suspense-table', ['item', 'PSP', 'status', 'balance transaction', 'payout',
        { label: 'amount', num: true }, { label: 'fee', num: true }, 'why', 'cleared to'], rows),
    ];
  }

  async function replay(id) {
    const path = id ? `/v1/admin/dead_letters/${encodeURIComponent(id)}/replay`
      : '/v1/admin/dead_letters/replay';
    try {
      const r = await api('POST', path);
      notice = { text: `replayed ${r.replayed.length} dead letter(s)`, until: Date.now() + 5000 };
    } catch (e) {
      notice = { text: 'replay failed: ' + e.message, until: Date.now() + 5000, bad: true };
    }
    refresh();
  }

  async function viewWebhooks() {
    const [stats, dead] = await Promise.all([
      api('GET', '/v1/admin/webhooks'),
      api('GET', '/v1/admin/dead_letters?include_resolved=true&limit=100'),
    ]);
    const rows = dead.data.map((d) => el('tr', { 'data-dead-letter': d.id },
      el('td', { class: 'mono' }, d.id),
      el('td', { class: 'mono' }, d.event_id),
      el('td', {}, d.event_type),
      el('td', {}, d.reason),
      el('td', { class: 'num' }, d.attempts.length),
      el('td', { class: 'num' }, d.replay_count),
      el('td', {}, when(d.created_ms)),
      el('td', {}, d.resolved ? badge('resolved', 'ok') : badge('open', 'bad')),
      el('td', {}, d.resolved ? '' : el('button', { class: 'replay', 'data-id': d.id,
                                                   onclick: () => replay(d.id) }, 'Replay'))));
    const open = dead.data.filter((d) => !d.resolved).length;
    return [
      el('h2', {}, 'Webhook queue'),
      el('div', { class: 'cards' },
        card('pending events', stats.pending, 'webhooks-pending'),
        card('oldest pending', age(stats.oldest_pending_age_ms)),
        card('dead letters open', stats.dead_letters_open, 'dead-letters-open'),
        card('signature failures', stats.signature_failures),
        card('invalid events', stats.invalid_events)),
      el('h3', {}, 'Dead letters ',
        open ? el('button', { id: 'replay-all', onclick: () => replay(null) }, 'Replay all open')
          : null),
      table('dead-letters-table', ['id', 'event', 'type', 'reason', { label: 'attempts', num: true },
        { label: 'replays', num: true }, 'dead since (UTC)', 'status', ''], rows),
    ];
  }

  async function replayDelivery(id) {
    try {
      await api('POST', `/v1/admin/webhook_deliveries/${encodeURIComponent(id)}/replay`);
      notice = { text: `delivery ${id} replayed`, until: Date.now() + 5000 };
    } catch (e) {
      notice = { text: 'replay failed: ' + e.message, until: Date.now() + 5000, bad: true };
    }
    refresh();
  }

  function deliveryTone(d) {
    if (d.state === 'delivered') return 'ok';
    if (d.state === 'dead') return 'bad';
    return d.attempts > 0 ? 'warn' : '';
  }

  function deliveryRows(list) {
    return list.map((d) => el('tr', { 'data-delivery': d.id, 'data-state': d.state },
      el('td', { class: 'num' }, d.id),
      el('td', { class: 'mono' }, d.event),
      el('td', {}, d.event_type),
      el('td', {}, badge(d.state === 'pending' && d.attempts > 0 ? 'failing' : d.state,
                         deliveryTone(d))),
      el('td', { class: 'num' }, d.attempts),
      el('td', { class: 'num' }, d.last_status ?? '-'),
      el('td', { class: 'num' }, d.last_latency_ms == null ? '-' : d.last_latency_ms + ' ms'),
      el('td', { class: 'error-text' }, d.last_error || ''),
      el('td', {}, d.next_attempt_ms ? when(d.next_attempt_ms) : '-'),
      el('td', {}, d.state === 'dead' || (d.state === 'pending' && d.attempts > 0)
        ? el('button', { class: 'replay-delivery', 'data-id': d.id,
                         onclick: () => replayDelivery(d.id) }, 'Replay')
        : '')));
  }

  const DELIVERY_HEADERS = [{ label: 'delivery', num: true }, 'event', 'type', 'state',
    { label: 'attempts', num: true }, { label: 'last status', num: true },
    { label: 'last latency', num: true }, 'last error', 'next attempt (UTC)', ''];

  async function viewOutbound() {
    const list = await api('GET', '/v1/admin/webhook_endpoints');
    const sections = list.data.map((e) => {
      const attempts = [];
      const seen = new Set();
      for (const d of [...e.recent, ...e.undelivered]) {
        if (seen.has(d.id)) continue;
        seen.add(d.id);
        for (const a of d.attempt_history) attempts.push({ delivery: d, a });
      }
      attempts.sort((x, y) => y.a.at_ms - x.a.at_ms);
      const attemptRows = attempts.slice(0, 10).map(({ delivery, a }) => el('tr', {},
        el('td', {}, when(a.at_ms)),
        el('td', { class: 'num' }, delivery.id),
        el('td', { class: 'mono' }, delivery.event),
        el('td', { class: 'num' }, a.attempt),
        el('td', { class: 'num' }, a.status ?? 'no answer'),
        el('td', { class: 'num' }, a.latency_ms + ' ms'),
        el('td', { class: 'error-text' }, a.error || '')));
      return el('section', { class: 'endpoint', 'data-endpoint': e.id },
        el('h3', {}, el('span', { class: 'mono' }, e.id), ' ',
          badge(e.status + (e.disabled_reason ? ` (${e.disabled_reason})` : ''),
                e.status === 'enabled' ? 'ok' : 'bad'),
          ' ', el('span', { class: 'muted' }, 'merchant ', e.merchant, ' \u00b7 ', e.url)),
        el('div', { class: 'cards' },
          card('pending', e.pending, 'pending-' + e.id),
          card('failing', e.failing, 'failing-' + e.id),
          card('dead-lettered', e.dead, 'dead-' + e.id),
          card('oldest undelivered', e.oldest_undelivered_age_ms ? age(e.oldest_undelivered_age_ms)
                                                               : '-'),
          card('last success', e.last_success_ms ? when(e.last_success_ms) : '-'),
          card('failing since', e.failing_since_ms ? when(e.failing_since_ms) : '-')),
        el('h4', {}, 'Failing and dead-lettered'),
        table('undelivered-' + e.id, DELIVERY_HEADERS, deliveryRows(e.undelivered)),
        el('h4', {}, 'Recent deliveries'),
        table('recent-' + e.id, DELIVERY_HEADERS, deliveryRows(e.recent)),
        el('h4', {}, 'Recent attempts'),
        table('attempts-' + e.id, ['time (UTC)', { label: 'delivery', num: true }, 'event',
          { label: 'attempt', num: true }, { label: 'status', num: true },
          { label: 'latency', num: true }, 'error'], attemptRows));
    });
    return [
      el('h2', {}, 'Outbound webhooks ',
        el('span', { class: 'muted' }, `${list.total} endpoint(s)`)),
      list.data.length ? null : el('p', { class: 'muted', id: 'no-endpoints' },
        'No merchant has a webhook endpoint.'),
      ...sections,
      list.has_more ? el('p', { class: 'muted' }, 'More endpoints exist than listed here.') : null,
    ];
  }

  async function viewLedger() {
    const tb = await api('GET', '/v1/ledger/trial_balance');
    const rows = tb.currencies.map((c) => el('tr', { 'data-currency': c.currency },
      el('td', {}, c.currency),
      el('td', { class: 'num' }, money(c.debits)),
      el('td', { class: 'num' }, money(c.credits)),
      el('td', { class: 'num' }, money(c.debits - c.credits)),
      el('td', { class: 'num' }, money(c.memo_debits)),
      el('td', { class: 'num' }, money(c.memo_credits)),
      el('td', {}, c.balanced ? badge('balanced', 'ok') : badge('IMBALANCED', 'bad'))));
    return [
      el('h2', {}, 'Trial balance ',
        el('span', { id: 'ledger-balanced' },
          tb.balanced ? badge('balanced', 'ok') : badge('IMBALANCED', 'bad'))),
      table('trial-balance-table', ['currency', { label: 'debits', num: true },
        { label: 'credits', num: true }, { label: 'difference', num: true },
        { label: 'memo debits', num: true }, { label: 'memo credits', num: true }, 'status'], rows),
    ];
  }

  // ---- routing and refresh ---------------------------------------------------

  function route() {
    const hash = decodeURIComponent(location.hash.slice(1));
    if (hash.startsWith('intent/')) return { name: 'intent', arg: hash.slice(7) };
    if (['gateways', 'webhooks', 'outbound', 'ledger', 'disputes', 'suspense'].includes(hash)) {
      return { name: hash };
    }
    return { name: 'actors' };
  }

  async function refresh() {
    const mine = ++generation;
    const r = route();
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.dataset.view === r.name);
    }
    try {
      let nodes;
      if (r.name === 'intent') nodes = await viewIntent(r.arg);
      else if (r.name === 'gateways') nodes = await viewGateways();
      else if (r.name === 'webhooks') nodes = await viewWebhooks();
      else if (r.name === 'outbound') nodes = await viewOutbound();
      else if (r.name === 'ledger') nodes = await viewLedger();
      else if (r.name === 'disputes') nodes = await viewDisputes();
      else if (r.name === 'suspense') nodes = await viewSuspense();
      else nodes = await viewActors();
      if (mine !== generation) return;
      const view = $('view');
      view.replaceChildren(...nodes.filter(Boolean));
      view.dataset.view = r.name;
      const told = notice && Date.now() < notice.until ? notice : null;
      setStatus('live \u00b7 updated ' + new Date().toLocaleTimeString() +
                (told ? ' \u00b7 ' + told.text : ''), told && told.bad);
    } catch (e) {
      if (mine !== generation) return;
      if (e instanceof Unauthorized) return logout(e.message);
      if (r.name === 'intent' && e.status === 404) {
        $('view').replaceChildren(el('h2', {}, 'Payment intent ', r.arg),
          el('p', { class: 'error', id: 'intent-missing' }, e.message));
        $('view').dataset.view = r.name;
      }
      setStatus('not updated: ' + e.message, true);
    }
  }

  function start() {
    $('login-view').hidden = true;
    $('nav').hidden = false;
    $('view').hidden = false;
    clearInterval(timer);
    timer = setInterval(refresh, REFRESH_MS);
    refresh();
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearInterval(timer);
    generation++;
    $('nav').hidden = true;
    $('view').hidden = true;
    $('view').replaceChildren();
    $('login-view').hidden = false;
    $('login-error').textContent = message || '';
    setStatus('');
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      $('token').value = '';
      try {
        await api('GET', '/v1/admin/actors?limit=1');
        $('login-error').textContent = '';
        start();
      } catch (e) {
        logout(e instanceof Unauthorized ? 'The admin token was refused.' : e.message);
      }
    });
    $('logout').addEventListener('click', () => logout(''));
    $('intent-search').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const id = $('intent-id').value.trim();
      if (id) location.hash = 'intent/' + encodeURIComponent(id);
    });
    window.addEventListener('hashchange', refresh);
    if (sessionStorage.getItem(TOKEN_KEY)) start();
  });
})();
