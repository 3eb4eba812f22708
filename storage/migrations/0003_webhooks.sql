-- Webhooks: the inbox is the durable queue. A verified event is stored raw
-- (bytes exactly as received) before the PSP gets its 200; workers claim due
-- rows with a lease, apply them in the same transaction as the intent's
-- write, and retry with backoff until the dead letters.

CREATE TABLE webhook_inbox (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  psp               text NOT NULL,
  event_id          text NOT NULL,
  event_type        text NOT NULL,
  object_id         text,
  payload           bytea NOT NULL,
  signature         text NOT NULL,
  received_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Where the retry deadline counts from: receipt, or the last replay.
  retry_window_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  next_attempt_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  processed_at      timestamptz,
  outcome           text,
  dead_lettered_at  timestamptz,
  UNIQUE (psp, event_id),
  CHECK ((processed_at IS NULL) = (outcome IS NULL))
);
-- What workers scan: due, unprocessed, not dead-lettered.
CREATE INDEX webhook_inbox_due ON webhook_inbox (next_attempt_at, id)
  WHERE processed_at IS NULL AND dead_lettered_at IS NULL;

-- Every failed attempt, kept for the dead letter's history.
CREATE TABLE webhook_attempts (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  inbox_id  bigint NOT NULL REFERENCES webhook_inbox (id),
  attempt   integer NOT NULL,
  error     text NOT NULL,
  at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhook_attempts_inbox ON webhook_attempts (inbox_id, id);

-- Events that kept failing. Never deleted: a replay that succeeds marks the
-- row resolved.
CREATE TABLE dead_letters (
  id            text PRIMARY KEY,
  inbox_id      bigint NOT NULL UNIQUE REFERENCES webhook_inbox (id),
  reason        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  replay_count  integer NOT NULL DEFAULT 0,
  replayed_at   timestamptz,
  resolved_at   timestamptz
);
CREATE INDEX dead_letters_open ON dead_letters (created_at) WHERE resolved_at IS NULL;

-- Intents stuck in a pending state are found by their last change.
CREATE INDEX payment_intents_pending ON payment_intents (updated_at)
  WHERE status IN ('created', 'requires_action', 'processing');
