#pragma once

/// Every named limit of the engine, in one home.
///
/// A limit lives here once; config may lower some of them at run time but
/// never raises one above the value here. Whatever goes over a limit gets a
/// clear error, never a crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pay::core::limits {

// ---- HTTP ------------------------------------------------------------------

/// Largest request body accepted; checkout and refund bodies are a few hundred
/// bytes, so 64 KiB leaves room for metadata while bounding memory per request.
inline constexpr std::size_t http_body_bytes_max = 64 * 1024;

/// Largest total request header size; bounds parser memory per connection.
inline constexpr std::size_t http_header_bytes_max = 16 * 1024;

/// Deadline for one HTTP request end to end; a client's own retries use the
/// same idempotency key, so a slow request is safe to abandon. It covers a
/// command's two PSP calls at most (a refresh, then the change) and the
/// database writes around them.
inline constexpr std::int64_t http_request_deadline_ms = 20'000;

/// Simultaneous open connections; beyond this new ones are refused rather
/// than letting file descriptors and memory run out.
inline constexpr std::size_t http_connections_max = 10'000;

/// Deepest JSON nesting accepted; our documents are shallow and a recursive
/// parser must not be driven into a stack overflow.
inline constexpr std::size_t json_depth_max = 16;

// ---- request content (Stripe's own limits) -----------------------------------

/// Metadata keys per object, as Stripe allows.
inline constexpr std::size_t metadata_keys_max = 50;

/// Metadata keys the engine adds when it forwards an intent to the PSP
/// (engine_intent_id), so a merchant may send this many fewer.
inline constexpr std::size_t metadata_keys_reserved = 1;

/// Length of one metadata key, as Stripe allows.
inline constexpr std::size_t metadata_key_length_max = 40;

/// Length of one metadata value, as Stripe allows.
inline constexpr std::size_t metadata_value_length_max = 500;

/// Length of a description; keeps rows and audit events small.
inline constexpr std::size_t description_length_max = 1000;

/// Length of a PSP account's name (an intent's `psp`): the 0010 migration's
/// check allows 32 characters.
inline constexpr std::size_t psp_name_length_max = 32;

/// Length of a return_url (where a PSP sends the shopper back); PSPs allow
/// up to 8,000, browsers and proxies are safe at 2,000.
inline constexpr std::size_t url_length_max = 2'000;

/// Length of an Idempotency-Key header, as Stripe allows.
inline constexpr std::size_t idempotency_key_length_max = 255;

/// How long a stored idempotency key is honoured; Stripe keeps keys 24 hours,
/// which covers every sane client retry schedule.
inline constexpr std::int64_t idempotency_key_retention_hours = 24;

/// Largest amount of one intent in minor units (Stripe's 8-digit cap), far
/// below any int64 overflow even after summing many captures and refunds.
inline constexpr std::int64_t amount_minor_max = 99'999'999;

/// Page size of a list endpoint when the client gives none, as Stripe does.
inline constexpr std::size_t list_limit_default = 10;

/// Largest page size of a list endpoint, as Stripe allows; bounds one query.
inline constexpr std::size_t list_limit_max = 100;

// ---- PSP calls and retries -----------------------------------------------------

/// Deadline for one PSP HTTP call; the PSP answers in well under a second when
/// healthy, and a hung call must free its concurrency slot.
inline constexpr std::int64_t psp_call_timeout_ms = 5'000;
/// A PSP call whose request has less time left than this is not made (the
/// gateway answers a retryable failure): its answer could not come back in
/// time, and the PSP would act on a call nobody waits for. A retry with the
/// same key makes it.
inline constexpr std::int64_t psp_call_time_min_ms = 100;

/// How long after its creation an intent at a PSP that tells outcomes by its
/// events only (no read by id) may still be paid by the shopper: such PSPs'
/// checkout sessions stay payable for an hour by default. Until then a capture
/// or cancel of an intent not yet authorised answers a retryable 503 (an
/// authorisation may be on its way) instead of a final refusal; after it,
/// capture is refused and cancel happens in the engine alone (the PSP holds
/// nothing to void).
inline constexpr std::int64_t event_only_payment_window_s = 3'600;

/// PSP calls in flight per PSP account; protects the PSP and our sockets.
inline constexpr std::size_t psp_concurrency_max = 64;
/// PSP calls that wait in the gateway for a free slot when
/// psp_concurrency_max are in flight, before the next is refused
/// (`psp_busy`, 503): a burst above the cap queues instead of failing, and
/// the queue stays short enough to drain within a request's deadline. A
/// queued call that waited longer than psp_queue_wait_ms_max is refused
/// rather than made (its request has given up or soon will).
inline constexpr std::size_t psp_queue_max = 4 * psp_concurrency_max;
inline constexpr std::int64_t psp_queue_wait_ms_max = 5'000;

/// A webhook event about a PSP intent the engine does not know, and whose
/// event carries no engine id (metadata), waits this long (its own create
/// may still be committing), then the intent is looked up at the PSP: one
/// without the engine's id is another system's (a PSP account shared with
/// it), and its event is recorded `foreign` and not retried again.
inline constexpr std::int64_t webhook_foreign_grace_ms = 5'000;

/// Attempts before failed work goes to the dead letters.
inline constexpr std::size_t retry_attempts_max = 8;

/// First retry delay cap; doubles per attempt (full jitter below it).
inline constexpr std::int64_t backoff_base_ms = 100;

/// Largest retry delay cap; retries never wait longer than a minute.
inline constexpr std::int64_t backoff_ceiling_ms = 60'000;

/// Total time a piece of work may keep retrying before it is dead-lettered.
inline constexpr std::int64_t retry_deadline_ms = 3'600'000;

// ---- circuit breaker -----------------------------------------------------------

/// Consecutive PSP failures that open the breaker; a hard outage trips fast.
inline constexpr std::size_t breaker_consecutive_failures_max = 5;

/// Failure share of the window that opens the breaker; catches flapping PSPs
/// that never fail five times in a row.
inline constexpr int breaker_failure_rate_percent = 50;

/// Outcomes kept in the breaker's sliding window.
inline constexpr std::size_t breaker_window_calls = 20;

/// Outcomes needed in the window before the failure rate may trip; a couple
/// of early failures are not a rate.
inline constexpr std::size_t breaker_min_calls = 10;

/// How long an open breaker refuses calls before probing the PSP again.
inline constexpr std::int64_t breaker_open_ms = 5'000;

/// Probe calls admitted at once while half open; one tells us enough.
inline constexpr std::size_t breaker_half_open_probes = 1;

// ---- webhooks ------------------------------------------------------------------

/// Largest |now - t| of a signed webhook, Stripe's default; bounds replays.
inline constexpr std::int64_t webhook_tolerance_s = 300;

/// v1 signatures considered in one header; rotation needs two, a few more
/// are harmless, hundreds would be a cheap CPU attack.
inline constexpr std::size_t webhook_signatures_max = 8;

// ---- webhook inbox ---------------------------------------------------------------

/// Events one worker claims at a time; bounds memory and one claim's time.
inline constexpr std::size_t inbox_batch_max = 64;

/// How long a claimed event is held before another worker (or this engine
/// after a crash) may claim it again; far above one event's processing time.
inline constexpr std::int64_t inbox_lease_ms = 30'000;

/// How often an idle worker looks for due events (receipts also wake it).
inline constexpr std::int64_t inbox_poll_ms = 250;

/// An intent pending this long without change is polled at the PSP, in case
/// its webhooks were lost.
inline constexpr std::int64_t stuck_intent_idle_ms = 600'000;

/// How often the worker looks for stuck intents.
inline constexpr std::int64_t stuck_poll_ms = 60'000;

/// Stuck intents refreshed per poll.
inline constexpr std::size_t stuck_batch_max = 100;

/// Longest pause before a supervisor restarts a crashed child.
inline constexpr std::int64_t supervisor_restart_ceiling_ms = 5'000;

// ---- actors --------------------------------------------------------------------

/// Idle time after which a payment intent actor stops; it rehydrates from the
/// database on the next message.
inline constexpr std::int64_t intent_actor_idle_ms = 60'000;

/// Idle time after which an intent actor that holds no intent stops: one
/// spawned for an id the database does not have (a merchant's miss, an
/// event about an intent not committed yet) or whose create failed. Short,
/// so misses with well-formed ids cannot keep actors alive (issue 16).
inline constexpr std::int64_t intent_actor_miss_idle_ms = 1'000;

/// Intent actors alive at once, so memory stays bounded: at the bound the
/// router stops the least recently used idle one to make room, and refuses
/// only when those it looks at all have requests waiting.
inline constexpr std::size_t intent_actors_max = 200'000;

/// Messages queued for one worker or storage actor before callers are told to
/// back off.
inline constexpr std::size_t mailbox_queue_max = 10'000;

// ---- database ------------------------------------------------------------------

/// First delay before reconnecting to PostgreSQL; doubles per attempt.
inline constexpr std::int64_t db_reconnect_backoff_base_ms = 100;

/// Largest delay between reconnect attempts; the database is usually back in
/// seconds and we want to notice quickly.
inline constexpr std::int64_t db_reconnect_backoff_ceiling_ms = 5'000;

// ---- HTTP transport ------------------------------------------------------------

/// Idle keep-alive connection lifetime; a quiet client's socket is closed so
/// connections do not pile up.
inline constexpr std::int64_t http_idle_timeout_ms = 30'000;

/// On SIGTERM, time in-flight requests get to finish before the rest are cut.
inline constexpr std::int64_t http_drain_ms = 10'000;

/// Upper bound of --http-threads; more I/O threads than cores only contend.
inline constexpr std::int64_t http_threads_max = 64;

/// Upper bound of --storage-connections; each is a PostgreSQL backend
/// process, and the server's max_connections is typically 100.
inline constexpr std::int64_t storage_connections_max = 64;

/// After an error answer to an unread request body, how long the server
/// drains the client's remaining bytes before closing (see do_linger).
inline constexpr std::int64_t http_linger_ms = 1'000;

/// Largest response body the HTTP client reads (PSP answers are a few KiB;
/// a list of balance transactions stays far below this).
inline constexpr std::size_t http_client_body_bytes_max = 8 * 1024 * 1024;

/// Deadline of one request between actors; a little under the HTTP deadline,
/// so the client gets our clear error rather than a cut connection.
inline constexpr std::int64_t actor_request_timeout_ms = 18'000;

// ---- hosted checkout (payment links) --------------------------------------------

/// Random base62 characters of a checkout visit cookie (about 190 bits): the
/// cookie alone grants its holder the client secret of its intent.
inline constexpr std::size_t checkout_visit_token_chars = 32;

/// Lifetime of a checkout visit cookie; the same as an idempotency key's, so
/// a visit resumes its intent for as long as its creation is remembered.
inline constexpr std::int64_t checkout_visit_max_age_s = idempotency_key_retention_hours * 3600;

// ---- metrics -------------------------------------------------------------------

/// Label sets one metric family holds; past it, updates go to one overflow
/// series (label values "_overflow"), so a label fed by mistake with
/// unbounded values cannot grow memory or the scrape without end.
inline constexpr std::size_t metrics_series_per_family_max = 1024;

/// Deadline of each read /metrics makes at scrape time (database through the
/// storage actors, actor census); a slow or absent database costs a scrape
/// at most this, and the scrape still answers, without those series.
inline constexpr std::int64_t metrics_scrape_timeout_ms = 2'000;

// ---- inspector -------------------------------------------------------------------

/// PSP call latencies each gateway keeps for the console's p50/p99 (the most
/// recent calls; older ones are overwritten).
inline constexpr std::size_t inspector_latency_window = 256;

/// Actors one inspector listing returns at most (the counts per kind always
/// cover every live actor).
inline constexpr std::size_t inspector_list_max = 1'000;

/// Actors one inspector listing returns when the request names no limit.
inline constexpr std::size_t inspector_list_default = 200;

/// Webhook endpoints the console's outbound page lists at most (every
/// merchant's; each costs a share of three bounded queries per refresh).
inline constexpr std::size_t inspector_outbound_endpoints_max = 100;

/// Deliveries per endpoint the outbound page shows in each of its two lists
/// (the newest, and the failing or dead-lettered ones), and attempts per
/// delivery.
inline constexpr std::size_t inspector_outbound_deliveries_max = 10;
inline constexpr std::size_t inspector_outbound_attempts_max = 3;

// ---- settlement and reconciliation (issue 6) ---------------------------------

/// Page size of the PSP list calls of settlement and reconciliation (Stripe's
/// largest).
inline constexpr std::size_t psp_list_page_max = 100;

/// Most pages one settlement or reconciliation reads from one PSP list;
/// beyond that (100 000 records) the work fails loudly rather than run on.
inline constexpr std::size_t psp_list_pages_max = 1'000;

/// How long the webhook worker waits for the settlement actor to book one
/// payout (several PSP pages and one transaction).
inline constexpr std::int64_t settlement_request_timeout_ms = 120'000;

/// Both sides of a reconciliation are gathered this far beyond the day on
/// each side, so a record near midnight meets its counterpart even when the
/// two clocks put it on different days.
inline constexpr std::int64_t reconciliation_grace_s = 3'600;

/// How long a reconciliation may run (PSP pages, queries, the store).
inline constexpr std::int64_t reconciliation_request_timeout_ms = 300'000;

/// A failed scheduled reconciliation is tried again after this long.
inline constexpr std::int64_t reconciliation_retry_ms = 300'000;

/// Default UTC time of day of the daily reconciliation (HH:MM).
inline constexpr std::string_view reconciliation_time_default = "00:30";

/// Statements one database connection keeps prepared (parsed once, planned
/// by PostgreSQL's plan cache); statements past this run unprepared. The
/// engine has a few dozen distinct statements.
inline constexpr std::size_t pg_prepared_statements_max = 256;

/// Most writes a storage actor gathers into one transaction (group commit);
/// more waiting writes go into the next one.
inline constexpr std::size_t storage_batch_items_max = 64;

// ---- outbound webhooks (events delivered to merchants) ---------------------------

/// Random bytes of a new endpoint secret (whsec_ + base64): 192 bits, the
/// size the Standard Webhooks libraries make.
inline constexpr std::size_t standard_webhook_key_bytes = 24;

/// Webhook endpoints one merchant may register (Stripe's limit is 16): each
/// is a delivery actor and a share of the outbound HTTP capacity.
inline constexpr std::size_t webhook_endpoints_per_merchant_max = 16;

/// Longest endpoint URL, in bytes (what browsers and proxies reliably carry).
inline constexpr std::size_t webhook_url_bytes_max = 2'048;

/// Event types one endpoint may list (there are 8 types and "*").
inline constexpr std::size_t webhook_enabled_events_max = 16;

/// How long a rolled secret keeps signing beside its successor, by default
/// and at most: a day lets a merchant deploy the new secret; a week is the
/// longest two keys stay valid at once.
inline constexpr std::int64_t webhook_secret_overlap_s_default = 86'400;
inline constexpr std::int64_t webhook_secret_overlap_s_max = 7 * 86'400;

/// Deadline of one delivery attempt (connect, send, answer): a receiver
/// should acknowledge at once and work behind; Stripe allows about 10 s.
inline constexpr std::int64_t outbound_attempt_timeout_ms = 10'000;

/// Deliveries in flight to one endpoint at once, so one merchant's slow
/// receiver is neither flooded nor able to take every connection.
inline constexpr std::size_t outbound_concurrency_per_endpoint = 4;

/// Full-jitter exponential backoff between attempts of one delivery: from
/// 30 s doubling up to 6 h, which spreads about 25 attempts over the window.
inline constexpr std::int64_t outbound_backoff_base_ms = 30'000;
inline constexpr std::int64_t outbound_backoff_ceiling_ms = 6 * 3'600'000;

/// Attempts of one delivery at most: the window below ends retries first
/// with the default backoff (about 25); this bounds a tiny configured one.
inline constexpr std::size_t outbound_attempts_max = 200;

/// A delivery still failing this long after its event is dead-lettered
/// (about three days, as Stripe retries); it can be replayed by hand.
inline constexpr std::int64_t outbound_retry_window_s = 3 * 86'400;

/// Latest unix time (seconds) a request may name, 9999-12-31T23:59:59Z: far
/// past any real event, and well inside what PostgreSQL's timestamps hold
/// (a larger `since` made to_timestamp fail as a 500).
inline constexpr std::int64_t unix_time_s_max = 253'402'300'799;

/// An endpoint with no successful delivery for this long while deliveries
/// fail is disabled and reported (longer than the retry window, so its
/// events are dead-lettered first and none is dropped silently).
inline constexpr std::int64_t outbound_endpoint_disable_after_s = 5 * 86'400;

/// Due deliveries claimed per query, and how long a claim holds them (well
/// above one attempt's deadline, so a live claim is never taken twice; a
/// crashed engine's claims come due again after it).
inline constexpr std::size_t outbound_claim_batch_max = 64;
inline constexpr std::int64_t outbound_lease_ms = 60'000;

/// How often the delivery supervisor looks for due deliveries when idle.
inline constexpr std::int64_t outbound_poll_ms = 1'000;

/// Bytes of a receiver's answer kept for the delivery log (enough to show
/// an error page's first line).
inline constexpr std::size_t outbound_response_excerpt_bytes = 256;

// ---- hardening: one client must not hurt the others ------------------------------

/// Live intent actors one merchant's requests may hold: a tenth of
/// intent_actors_max, so a merchant probing ids (or a burst of its own
/// traffic) cannot make the engine refuse everyone else.
/// At the bound, the merchant's least recently used idle actor is stopped
/// to make room (its state is in the database); only a merchant whose
/// actors all have requests waiting is refused.
inline constexpr std::size_t intent_actors_per_merchant_max = intent_actors_max / 10;

/// Actors the router looks at, least recently used first, for an idle one
/// to stop when a bound is reached: the oldest are almost always idle, and
/// the look stays cheap when they are not.
inline constexpr std::size_t intent_passivation_scan_max = 64;

/// API key -> merchant answers are kept in the API front for this long, so
/// a request needs no database read to authenticate: a key revoked in the
/// database (or a merchant's settings changed) takes effect within this many
/// seconds (docs/operations.md). Unknown keys are not cached. Bounded by
/// api_key_cache_entries_max (full: the oldest half is dropped).
inline constexpr std::int64_t api_key_cache_ttl_s = 2;
inline constexpr std::size_t api_key_cache_entries_max = 10'000;

/// A merchant's routing rules are kept by the storage actors for this long,
/// so a create the rules place reads none: rules replaced through this
/// engine process apply at once, and ones replaced through another process
/// (or by hand in the database) within this many seconds. Bounded by
/// routing_rules_cache_entries_max merchants.
inline constexpr std::int64_t routing_rules_cache_ttl_s = 2;
inline constexpr std::size_t routing_rules_cache_entries_max = 10'000;

/// API requests per merchant key: a burst of 200, refilled at 100 per
/// second (one token per 10 ms). Stripe's live-mode default is 100/s.
inline constexpr std::int64_t api_rate_burst = 200;
inline constexpr std::int64_t api_rate_refill_ms = 10;

/// Public hosted-checkout reads (/pay/{link}, its status and assets) per
/// client address: a burst of 120, then 2 per second (page loads and the
/// page's status polling stay far below).
inline constexpr std::int64_t public_rate_burst = 120;
inline constexpr std::int64_t public_rate_refill_ms = 500;

/// Checkout session creates (POST /pay/{link}/session) per client address,
/// the strictest: each can create an intent and a PSP intent. A burst of 10,
/// then one every 6 s (10 a minute); a shopper needs one per visit.
inline constexpr std::int64_t session_rate_burst = 10;
inline constexpr std::int64_t session_rate_refill_ms = 6'000;

/// Keys (merchants, client addresses) each rate limiter tracks at most; the
/// least recently seen is forgotten beyond it, so memory stays bounded
/// (about 100 bytes a key).
inline constexpr std::size_t rate_limit_keys_max = 100'000;

/// Connections one client address may hold open at once; the global
/// http_connections_max is kept for everyone else.
inline constexpr std::size_t http_connections_per_address_max = 256;

/// Time a new connection (and each kept-alive one, between requests) gets
/// to send a complete request head: enough for any real client, short
/// enough that idle sockets do not pile up (slowloris).
inline constexpr std::int64_t http_header_deadline_ms = 5'000;

/// libpq: how long one connection attempt may take.
inline constexpr std::int64_t db_connect_timeout_s = 5;

/// libpq TCP keepalives: probe an idle connection after 30 s, every 10 s,
/// give up after 3 missed probes, so a vanished server is noticed in about
/// a minute rather than the kernel's two hours.
inline constexpr std::int64_t db_keepalives_idle_s = 30;
inline constexpr std::int64_t db_keepalives_interval_s = 10;
inline constexpr std::int64_t db_keepalives_count = 3;

/// PostgreSQL statement_timeout of every engine connection: below
/// actor_request_timeout_ms, so a frozen database fails a request with a
/// clear error before the actor request gives up.
inline constexpr std::int64_t db_statement_timeout_ms = 10'000;

/// How much longer than a connection's statement_timeout the engine waits
/// for the server's answer. The statement timeout is the server's own, so a
/// frozen or cut-off server (SIGSTOP, a dead link that still ACKs) never
/// sends it; past this grace the engine closes the connection and the
/// request fails with 503 at once instead of waiting for the actor timeout.
inline constexpr std::int64_t db_answer_grace_ms = 2'000;

/// How long /readyz waits for each storage connection's answer: a storage
/// actor stuck on a frozen database counts as down rather than holding the
/// probe (load balancers give up on a probe after a few seconds).
inline constexpr std::int64_t readiness_probe_timeout_ms = 2'000;

/// Shortest admin token accepted: 32 characters of a random token carry
/// about 190 bits (base62); shorter ones are refused at start-up.
inline constexpr std::size_t admin_token_length_min = 32;

/// Strict-Transport-Security max-age of answers over the engine's own TLS
/// listener: one year, the usual value (and what preload lists require).
inline constexpr std::int64_t hsts_max_age_s = 31'536'000;

// ---- PayPal (psp/paypal/) --------------------------------------------------------

/// An OAuth2 access token is refreshed this long before PayPal's
/// `expires_in` runs out, so no call leaves with a token that expires on the
/// way (PayPal's tokens live about 9 h; a minute of margin is plenty).
inline constexpr std::int64_t paypal_token_refresh_margin_s = 60;

/// PayPal-Request-Id's longest value on Orders v2 (PayPal's documented 108);
/// a longer engine key is sent as a stable hash of itself.
inline constexpr std::size_t paypal_request_id_length_max = 108;

/// Largest |now - PAYPAL-TRANSMISSION-TIME| of a webhook verified offline:
/// the signature covers no nonce, so this bounds replays; each PayPal retry
/// is a new transmission with its own time, so a tight window loses nothing.
inline constexpr std::int64_t paypal_webhook_tolerance_s = 300;

/// Signing certificates kept by URL; PayPal rotates them rarely, so a few
/// entries suffice, and the bound stops a flood of URLs growing memory.
inline constexpr std::size_t paypal_cert_cache_entries_max = 16;

/// Largest certificate (chain) body accepted from PAYPAL-CERT-URL.
inline constexpr std::size_t paypal_cert_bytes_max = 64 * 1024;

/// How long webhook verification (on the server's thread) waits for a
/// certificate download on first use of a URL, or for PayPal's
/// verify-webhook-signature answer; past it the webhook is refused (PayPal
/// delivers it again) while a download finishes into the cache behind.
inline constexpr std::int64_t paypal_webhook_fetch_timeout_ms = 2'000;

/// Transaction Search answers at most 31 days per query (PayPal's rule).
inline constexpr std::int64_t paypal_search_window_s = 31 * 86'400;

/// Rows asked per Transaction Search page (PayPal allows up to 500) and the
/// pages followed per listing before giving up.
inline constexpr std::size_t paypal_search_page_size = 500;
inline constexpr std::size_t paypal_search_pages_max = 200;
/// How often the PayPal settlement actor reads Transaction Search for new
/// withdrawals (PayPal sends no payout events): a payout is booked within
/// this much of reaching the bank; each read is one search over 31 days.
inline constexpr std::int64_t paypal_payout_poll_s = 300;

// ---- disputes --------------------------------------------------------------------

/// Longest value of one dispute evidence field: Stripe's own limit for a
/// text field of `dispute_evidence`, so what the engine accepts the PSP does.
inline constexpr std::size_t dispute_evidence_field_length_max = 20'000;

/// Longest evidence in total (all fields' values): Stripe refuses more than
/// 150,000 characters over all fields of one dispute.
inline constexpr std::size_t dispute_evidence_total_length_max = 150'000;

/// Most disputes one list page answers is limits::list_limit_max; the
/// inspector and /metrics read at most this many open disputes, far above
/// what one engine holds open (a dispute rate over 1 % ends card acceptance).
inline constexpr std::size_t disputes_open_scan_max = 10'000;

/// How long before a dispute's evidence deadline the alert
/// PaymentsDisputeDeadlineNear fires: two days leave a working day to
/// gather evidence after a weekend.
inline constexpr std::int64_t dispute_deadline_warning_s = 2 * 86'400;

// ---- authorisation expiry ------------------------------------------------------

/// Longest authorisation validity an operator may configure per PSP account
/// (`--auth-validity`): 31 days covers every network's and PSP's rule in
/// core/authorization_expiry.cpp (PayPal's 29 days is the longest).
inline constexpr std::int64_t authorization_validity_max_s = 31 * 86'400;

/// Default lead time of the merchant's warning that an authorisation is
/// about to lapse (`payment_intent.authorization_expiring`): a day leaves
/// a merchant's daily batch time to capture.
inline constexpr std::int64_t authorization_warning_lead_s = 86'400;

/// How often the expiry scan looks for lapsed authorisations and due
/// warnings (`--expiry-scan-ms` may lower it): a minute late on a
/// multi-day deadline is nothing, and capture checks expires_at itself.
inline constexpr std::int64_t expiry_scan_period_ms = 60'000;

/// Intents one expiry scan hands to their actors (and warnings it sends);
/// the rest wait for the next scan, so a backlog after an outage drains in
/// bounded steps instead of spawning every actor at once.
inline constexpr std::size_t expiry_scan_batch_max = 100;

/// Largest step of the sandbox's test clock (`POST /_sandbox/clock/advance`):
/// a year covers every authorisation and dispute deadline a test needs,
/// and bounds how far one request can throw the sandbox's dates.
inline constexpr std::int64_t sandbox_clock_advance_max_s = 366 * 86'400;

// ---- routing between PSPs (core/routing.hpp) --------------------------------------

/// Rules per merchant: each create walks them in order, and a person must be
/// able to read them all on the inspector; 50 is far more than any routing
/// table we have seen needs.
inline constexpr std::size_t routing_rules_max = 50;

/// PSPs in one list (a rule's or the default). Also bounds a create's
/// attempts: each failover moves one step down its list, never back.
inline constexpr std::size_t routing_psps_per_list_max = 8;

/// Largest weight of one PSP in a list; weights are relative shares, so this
/// only bounds the arithmetic and keeps the stored text short.
inline constexpr std::int64_t routing_weight_max = 1000;

/// Length of a payment method type in a rule (Stripe's names, e.g. "card",
/// "sepa_debit", are far shorter).
inline constexpr std::size_t routing_payment_method_length_max = 32;

/// Routing decisions the inspector remembers (newest first); older ones are
/// in the routing_attempts table.
inline constexpr std::size_t routing_recent_decisions_max = 50;

/// How often the orphan rescan looks for routing orphans nobody handled
/// (`--orphan-scan-ms` may lower it): an orphan holds no money (its create
/// never confirmed), so ten seconds late costs nothing, and the scan is one
/// indexed query.
inline constexpr std::int64_t routing_orphan_scan_period_ms = 10'000;

/// How old a failover must be before the rescan takes its orphan
/// (`--orphan-grace-ms` may lower it): the intent actor's own background
/// cancel normally handles it first, within three gateway calls (the next
/// PSP's create, the create again and the cancel: 3 x 2 x
/// psp_call_timeout_ms = 30 s); twice that leaves it room. The rescan is
/// for what that missed (a crash, the PSP still down).
inline constexpr std::int64_t routing_orphan_grace_ms = 6 * 2 * psp_call_timeout_ms;

/// Orphans one rescan pass sends to their PSPs; the rest wait for the next
/// pass, so a backlog after an outage drains in bounded steps.
inline constexpr std::size_t routing_orphan_scan_batch_max = 50;

/// Backoff of an orphan whose pass failed retryably (PSP down, breaker
/// open): full jitter, the first retry within 5 s, the cap doubling up to a
/// minute (an outage's end is noticed within a minute), never given up
/// (the PSP's object stays until canceled or lapsed).
inline constexpr std::int64_t routing_orphan_backoff_base_ms = 5'000;
inline constexpr std::int64_t routing_orphan_backoff_ceiling_ms = 60'000;

}  // namespace pay::core::limits
