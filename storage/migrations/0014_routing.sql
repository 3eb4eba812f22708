-- Routing between PSPs and failover at create (docs/architecture.md,
-- "Routing and failover"; core/routing.hpp).
--
-- * A merchant's routing rules are versioned: a replace (POST /v1/routing)
--   inserts a new version with its rules and an audit event in one
--   transaction; the current rules are the highest version. Nothing is
--   updated or deleted, so every past table can be read back.
-- * A create that no request named a PSP for records, before each PSP call,
--   which PSP it is about to try and why (routing_attempts). A retry of the
--   create (same Idempotency-Key, so the same intent id) reads them and
--   continues at the PSP it last tried, with the same PSP key: never a
--   second paid intent. The row exists before the intent does, so no
--   foreign key to payment_intents.
-- * An attempt left for a failure that may have made an intent at its PSP
--   (timeout, broken connection, 5xx) is an orphan; what was done about it
--   (canceled at the PSP, or left to expire) is recorded once.
CREATE TABLE routing_versions (
  merchant_id  text NOT NULL REFERENCES merchants (id),
  version      bigint NOT NULL CHECK (version > 0),
  -- The default list as text, "stripe:1,adyen:3" (core::targets_text); ''
  -- means the merchant's default PSP.
  default_psps text NOT NULL
    CHECK (default_psps ~ '^([a-z][a-z0-9_-]{0,31}:[0-9]{1,4}(,[a-z][a-z0-9_-]{0,31}:[0-9]{1,4})*)?$'),
  actor        text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (merchant_id, version)
);

CREATE TABLE routing_rules (
  merchant_id         text NOT NULL,
  version             bigint NOT NULL,
  position            integer NOT NULL CHECK (position >= 0),
  currency            text CHECK (currency ~ '^[a-z]{3}$'),
  amount_min          bigint CHECK (amount_min >= 0),
  amount_max          bigint CHECK (amount_max >= 0),
  payment_method_type text CHECK (payment_method_type ~ '^[a-z_]{1,32}$'),
  psps                text NOT NULL
    CHECK (psps ~ '^[a-z][a-z0-9_-]{0,31}:[0-9]{1,4}(,[a-z][a-z0-9_-]{0,31}:[0-9]{1,4})*$'),
  PRIMARY KEY (merchant_id, version, position),
  FOREIGN KEY (merchant_id, version) REFERENCES routing_versions (merchant_id, version),
  CHECK (amount_min IS NULL OR amount_max IS NULL OR amount_min <= amount_max)
);

CREATE TABLE routing_attempts (
  intent_id         text NOT NULL,
  attempt           integer NOT NULL CHECK (attempt >= 0),
  merchant_id       text NOT NULL REFERENCES merchants (id),
  psp               text NOT NULL CHECK (psp ~ '^[a-z][a-z0-9_-]{0,31}$'),
  -- The whole ordered list the create walks, "stripe,adyen": a retry walks
  -- the same one even if the rules changed meanwhile.
  candidates        text NOT NULL,
  -- Why this PSP: "rule 0", "default list", or the failover's cause,
  -- "stripe breaker open".
  reason            text NOT NULL,
  -- The previous attempt failed in a way that may have made an intent at
  -- its PSP (an orphan to find and cancel).
  previous_may_exist boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (intent_id, attempt)
);
CREATE INDEX routing_attempts_recent ON routing_attempts (created_at);

CREATE TABLE routing_orphans (
  intent_id     text NOT NULL,
  attempt       integer NOT NULL,
  -- canceled: found at the PSP and canceled; expires: the PSP's object
  -- lapses by itself (nothing to cancel); none: the PSP holds nothing.
  outcome       text NOT NULL CHECK (outcome IN ('canceled', 'expires', 'none')),
  psp_reference text,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (intent_id, attempt),
  FOREIGN KEY (intent_id, attempt) REFERENCES routing_attempts (intent_id, attempt)
);

CREATE TRIGGER routing_versions_append_only BEFORE UPDATE OR DELETE ON routing_versions
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER routing_rules_append_only BEFORE UPDATE OR DELETE ON routing_rules
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER routing_attempts_append_only BEFORE UPDATE OR DELETE ON routing_attempts
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER routing_orphans_append_only BEFORE UPDATE OR DELETE ON routing_orphans
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
