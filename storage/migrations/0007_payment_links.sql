-- Payment links: a merchant's reusable checkout page (amount, currency,
-- description, capture method) served by the engine at /pay/{id}, and the
-- visits that opened it. Each visit (a browser, known by its visit cookie)
-- gets one payment intent, created idempotently, so a reload resumes it.

CREATE TABLE payment_links (
  id              text PRIMARY KEY CHECK (id ~ '^plink_[0-9A-Za-z]{24}$'),
  merchant_id     text NOT NULL REFERENCES merchants (id),
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  description     text,
  capture_method  text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_links_merchant ON payment_links (merchant_id, created_at DESC, id DESC);

-- One row per (link, visit): the intent that visit pays. The visit is stored
-- only as the SHA-256 of the cookie's value, so a database reader cannot
-- replay a shopper's cookie.
CREATE TABLE payment_link_visits (
  link_id      text NOT NULL REFERENCES payment_links (id),
  visit_hash   text NOT NULL CHECK (visit_hash ~ '^[0-9a-f]{64}$'),
  intent_id    text NOT NULL REFERENCES payment_intents (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (link_id, visit_hash)
);
CREATE INDEX payment_link_visits_intent ON payment_link_visits (intent_id);
