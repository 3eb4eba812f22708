-- Checkout: idempotency keys with recovery points, and refunds.

-- One row per (merchant, Idempotency-Key). A request holds the key through a
-- lease (locked_until) while it runs; a crashed request's lease lapses and a
-- retry resumes from recovery_point. Finished keys keep the exact answer.
CREATE TABLE idempotency_keys (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  merchant_id      text NOT NULL REFERENCES merchants (id),
  key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method           text NOT NULL,
  path             text NOT NULL,
  fingerprint      text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
  recovery_point   text NOT NULL DEFAULT 'started'
                     CHECK (recovery_point IN ('started', 'psp_called', 'finished')),
  locked_until     timestamptz,
  intent_id        text REFERENCES payment_intents (id),
  refund_id        text,
  response_status  integer,
  response_body    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (merchant_id, key),
  CHECK ((recovery_point = 'finished') = (response_status IS NOT NULL))
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE refunds (
  id             text PRIMARY KEY,
  merchant_id    text NOT NULL REFERENCES merchants (id),
  intent_id      text NOT NULL REFERENCES payment_intents (id),
  amount         bigint NOT NULL CHECK (amount > 0),
  currency       text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  status         text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
  reason         text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
  psp_reference  text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_intent ON refunds (intent_id);
