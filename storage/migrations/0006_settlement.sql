-- Settlement and reconciliation (issue 6).
--
-- A PSP payout is booked once: settlement_payouts is unique per (psp,
-- payout), and the payout row, its items, its journal transactions and the
-- inbox row marked processed are one database transaction. Booking rows are
-- append-only like the ledger they explain.

CREATE TABLE settlement_payouts (
  id                 text PRIMARY KEY,  -- "stl_..."
  psp                text NOT NULL,
  psp_payout_id      text NOT NULL,
  currency           text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  -- What the PSP says it paid (its payout amount) and what we booked to
  -- merchants' banks (the nets of the items we could attribute). They differ
  -- when the payout holds balance transactions we do not know.
  psp_amount         bigint NOT NULL,
  booked_net         bigint NOT NULL,
  psp_status         text NOT NULL,
  psp_created        timestamptz NOT NULL,
  unmatched_count    integer NOT NULL DEFAULT 0 CHECK (unmatched_count >= 0),
  inbox_id           bigint REFERENCES webhook_inbox (id),
  created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (psp, psp_payout_id)
);
CREATE INDEX settlement_payouts_psp_created ON settlement_payouts (psp, psp_created);

-- One row per balance transaction of a payout. merchant_id and intent_id are
-- NULL when the transaction references a charge or refund we do not know
-- (matched = false): recorded, never booked, reported by reconciliation.
CREATE TABLE settlement_items (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payout_id          text NOT NULL REFERENCES settlement_payouts (id),
  psp                text NOT NULL,
  psp_balance_tx_id  text NOT NULL,
  type               text NOT NULL,  -- charge | refund | other PSP types
  source             text NOT NULL,  -- ch_... / re_...
  psp_intent_id      text,
  merchant_id        text REFERENCES merchants (id),
  intent_id          text REFERENCES payment_intents (id),
  refund_id          text REFERENCES refunds (id),
  amount             bigint NOT NULL,
  fee                bigint NOT NULL,
  net                bigint NOT NULL,
  currency           text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  matched            boolean NOT NULL,
  psp_created        timestamptz NOT NULL,
  CHECK (net = amount - fee),
  CHECK (matched = (merchant_id IS NOT NULL)),
  UNIQUE (psp, psp_balance_tx_id)
);
CREATE INDEX settlement_items_intent ON settlement_items (intent_id) WHERE intent_id IS NOT NULL;
CREATE INDEX settlement_items_payout ON settlement_items (payout_id);

-- The journal transaction booked per merchant of a payout.
CREATE TABLE settlement_journals (
  payout_id       text NOT NULL REFERENCES settlement_payouts (id),
  merchant_id     text NOT NULL REFERENCES merchants (id),
  transaction_id  text NOT NULL UNIQUE REFERENCES ledger_transactions (id),
  gross           bigint NOT NULL,
  fee             bigint NOT NULL,
  net             bigint NOT NULL,
  PRIMARY KEY (payout_id, merchant_id),
  CHECK (net = gross - fee)
);

CREATE TRIGGER settlement_payouts_append_only BEFORE UPDATE OR DELETE ON settlement_payouts
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER settlement_items_append_only BEFORE UPDATE OR DELETE ON settlement_items
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER settlement_journals_append_only BEFORE UPDATE OR DELETE ON settlement_journals
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();

-- A reconciliation run: one per (psp, day, sequence). Asking again for the
-- same day and PSP answers the latest run; a rerun adds sequence + 1 and
-- keeps the earlier runs.
CREATE TABLE reconciliation_runs (
  id                 text PRIMARY KEY,  -- "rcn_..."
  psp                text NOT NULL,
  day                date NOT NULL,
  sequence           integer NOT NULL CHECK (sequence >= 1),
  trigger            text NOT NULL CHECK (trigger IN ('schedule', 'api', 'cli')),
  psp_records        integer NOT NULL CHECK (psp_records >= 0),
  our_records        integer NOT NULL CHECK (our_records >= 0),
  matched            integer NOT NULL CHECK (matched >= 0),
  differences        integer NOT NULL CHECK (differences >= 0),
  started_at         timestamptz NOT NULL,
  finished_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (psp, day, sequence)
);
CREATE INDEX reconciliation_runs_latest ON reconciliation_runs (psp, finished_at DESC);

CREATE TABLE reconciliation_differences (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id         text NOT NULL REFERENCES reconciliation_runs (id),
  kind           text NOT NULL CHECK (kind IN ('missing_in_ledger', 'missing_at_psp',
                   'amount_differs', 'currency_differs', 'status_differs')),
  object         text NOT NULL CHECK (object IN ('charge', 'refund', 'fee', 'payout')),
  psp_reference  text,
  our_reference  text,
  psp_amount     bigint,
  our_amount     bigint,
  psp_currency   text,
  our_currency   text,
  psp_status     text,
  our_status     text,
  detail         text NOT NULL
);
CREATE INDEX reconciliation_differences_run ON reconciliation_differences (run_id, id);

CREATE TRIGGER reconciliation_runs_append_only BEFORE UPDATE OR DELETE ON reconciliation_runs
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER reconciliation_differences_append_only BEFORE UPDATE OR DELETE
  ON reconciliation_differences FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
