-- Foundation: merchants, their API keys, payment intents and the append-only
-- audit log. Every row that belongs to a merchant carries merchant_id, and
-- every query for a merchant filters on it.

CREATE TABLE merchants (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Keys are stored only as SHA-256 hashes of the full secret; `display` keeps
-- the first characters so an operator can tell keys apart.
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  merchant_id  text NOT NULL REFERENCES merchants (id),
  key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  display      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

CREATE TABLE payment_intents (
  id                  text PRIMARY KEY,
  merchant_id         text NOT NULL REFERENCES merchants (id),
  status              text NOT NULL CHECK (status IN ('created', 'requires_action', 'processing',
                        'authorized', 'captured', 'partially_refunded', 'refunded', 'canceled',
                        'expired')),
  amount              bigint NOT NULL CHECK (amount > 0),
  currency            text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  capture_method      text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
  amount_capturable   bigint NOT NULL DEFAULT 0 CHECK (amount_capturable >= 0),
  amount_received     bigint NOT NULL DEFAULT 0 CHECK (amount_received >= 0),
  amount_refunded     bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  description         text,
  metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
  psp                 text NOT NULL,
  psp_reference       text,
  client_secret       text,
  last_payment_error  jsonb,
  version             bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (amount_capturable <= amount),
  CHECK (amount_received <= amount),
  CHECK (amount_refunded <= amount_received)
);
-- Lists are newest first per merchant, paginated by (created_at, id).
CREATE INDEX payment_intents_merchant_created ON payment_intents (merchant_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX payment_intents_psp_reference ON payment_intents (psp, psp_reference)
  WHERE psp_reference IS NOT NULL;

-- One row per state transition or refused command: who, what, from, to,
-- version, cause. Append-only, enforced below.
CREATE TABLE audit_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  merchant_id  text NOT NULL REFERENCES merchants (id),
  intent_id    text REFERENCES payment_intents (id),
  actor        text NOT NULL,
  action       text NOT NULL,
  from_status  text,
  to_status    text,
  version      bigint,
  cause        text NOT NULL,
  data         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_events_intent ON audit_events (intent_id, id);

-- Append-only tables refuse UPDATE, DELETE and TRUNCATE, whoever asks.
-- Corrections are new rows.
CREATE FUNCTION refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'P0001';
END;
$$;

CREATE TRIGGER audit_events_append_only
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
