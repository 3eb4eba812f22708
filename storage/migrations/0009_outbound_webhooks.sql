-- Outbound webhooks: merchants register endpoints; every committed intent or
-- refund change appends its events to the outbox (outbound_events) and one
-- delivery per subscribed, enabled endpoint in the SAME transaction as the
-- change (storage::write_intent), so there is no event without its change
-- and no change without its event. Delivery actors claim due deliveries with
-- a lease and record every attempt. See docs/merchant-webhooks.md.

CREATE TABLE webhook_endpoints (
  id               text PRIMARY KEY,                     -- we_...
  merchant_id      text NOT NULL REFERENCES merchants (id),
  url              text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  description      text CHECK (length(description) <= 1000),
  enabled_events   text[] NOT NULL CHECK (cardinality(enabled_events) BETWEEN 1 AND 16),
  status           text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  -- Why it is disabled: 'merchant' (by the API) or 'failing' (by the engine).
  disabled_reason  text CHECK (disabled_reason IN ('merchant', 'failing')),
  -- The last delivery that succeeded and the first failure after it, from
  -- which "failing for days" is measured.
  last_success_at  timestamptz,
  failing_since    timestamptz,
  deleted_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL))
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, created_at DESC, id DESC)
  WHERE deleted_at IS NULL;

-- Signing secrets (whsec_...). The current one has no expiry; a rolled one
-- keeps signing until expires_at, beside its successor. Kept in clear text
-- because signing needs the key itself (as the PSP keeps ours).
CREATE TABLE webhook_endpoint_secrets (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  endpoint_id  text NOT NULL REFERENCES webhook_endpoints (id),
  secret       text NOT NULL CHECK (secret LIKE 'whsec\_%'),
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at   timestamptz
);
CREATE INDEX webhook_endpoint_secrets_endpoint ON webhook_endpoint_secrets (endpoint_id, id);
CREATE UNIQUE INDEX webhook_endpoint_secrets_current ON webhook_endpoint_secrets (endpoint_id)
  WHERE expires_at IS NULL;

-- The outbox. payload is the exact body every attempt signs and sends, so
-- it is text (jsonb would reorder keys). Append-only.
CREATE TABLE outbound_events (
  id              text PRIMARY KEY,                      -- evt_...
  seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  merchant_id     text NOT NULL REFERENCES merchants (id),
  type            text NOT NULL,
  object_id       text NOT NULL,
  object_version  bigint NOT NULL CHECK (object_version >= 0),
  dedupe_key      text NOT NULL,
  payload         text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (merchant_id, dedupe_key)
);
CREATE INDEX outbound_events_merchant ON outbound_events (merchant_id, seq DESC);
CREATE TRIGGER outbound_events_append_only BEFORE UPDATE OR DELETE ON outbound_events
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER outbound_events_no_truncate BEFORE TRUNCATE ON outbound_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

-- One delivery per event and endpoint: its state, and its schedule
-- (next_attempt_at is also the claim's lease).
CREATE TABLE webhook_deliveries (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id         text NOT NULL REFERENCES outbound_events (id),
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id),
  merchant_id      text NOT NULL REFERENCES merchants (id),
  state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Where the retry window counts from: the event, or the last replay.
  retry_window_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_status      integer,
  last_error       text,
  last_latency_ms  integer,
  delivered_at     timestamptz,
  dead_at          timestamptz,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (event_id, endpoint_id),
  CHECK ((state = 'delivered') = (delivered_at IS NOT NULL)),
  CHECK ((state = 'dead') = (dead_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
  WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (endpoint_id, dead_at)
  WHERE state = 'dead';

-- Every attempt, its answer and latency. Append-only.
CREATE TABLE webhook_delivery_attempts (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id),
  attempt      integer NOT NULL CHECK (attempt >= 1),
  status       integer,            -- the receiver's HTTP status; NULL: no answer
  error        text,               -- transport error or answer excerpt
  latency_ms   integer NOT NULL CHECK (latency_ms >= 0),
  at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, id);
CREATE TRIGGER webhook_delivery_attempts_append_only BEFORE UPDATE OR DELETE
  ON webhook_delivery_attempts FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER webhook_delivery_attempts_no_truncate BEFORE TRUNCATE ON webhook_delivery_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
