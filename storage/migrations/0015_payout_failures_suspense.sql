-- The rest of the money lifecycle (issue 19): payouts that fail after they
-- were booked, and suspense for PSP money the engine cannot attribute.
--
-- The chart gains two PSP-scoped accounts (core::chart_of_accounts()):
--   suspense           liability, credit normal: PSP money nobody is known
--                      to own yet (an unmatched balance transaction)
--   unattributed_cash  asset, debit normal: what the PSP paid out for such
--                      money, attributed to no merchant's bank
-- The (code, type) CHECK of 0012 is replaced by one that names them.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_code_type;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_code_type
  CHECK ((code, type) IN (('psp_receivable', 'asset'), ('merchant_revenue', 'revenue'),
    ('refunds', 'contra_revenue'), ('psp_fees', 'expense'), ('bank', 'asset'),
    ('auth_holds', 'memo'), ('auth_hold_offset', 'memo'), ('disputes', 'contra_revenue'),
    ('dispute_losses', 'expense'), ('suspense', 'liability'),
    ('unattributed_cash', 'asset')));

-- A payout booked as paid that the PSP later reports failed: one row per
-- payout, written with the reversals of every journal its booking wrote,
-- so the failure is booked at most once.
CREATE TABLE settlement_payout_failures (
  payout_id        text PRIMARY KEY REFERENCES settlement_payouts (id),
  psp              text NOT NULL,
  psp_payout_id    text NOT NULL,
  failure_code     text NOT NULL DEFAULT '' CHECK (length(failure_code) <= 100),
  reversed_net     bigint NOT NULL,
  inbox_id         bigint REFERENCES webhook_inbox (id),
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (psp, psp_payout_id)
);
CREATE TRIGGER settlement_payout_failures_append_only
  BEFORE UPDATE OR DELETE ON settlement_payout_failures
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER settlement_payout_failures_no_truncate
  BEFORE TRUNCATE ON settlement_payout_failures
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

-- The line of a later payout that pays a failed payout's money again
-- (Stripe's `payout_failure` balance transaction) names that payout; it is
-- attributed to the failed payout's merchants, so it counts as matched
-- without a merchant of its own.
ALTER TABLE settlement_items ADD COLUMN repays_payout_id text
  REFERENCES settlement_payouts (id);
DO $$
DECLARE c text;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'settlement_items'::regclass AND contype = 'c'
             AND pg_get_constraintdef(oid) LIKE '%matched%merchant_id%'
  LOOP
    EXECUTE format('ALTER TABLE settlement_items DROP CONSTRAINT %I', c);
  END LOOP;
END $$;
ALTER TABLE settlement_items ADD CONSTRAINT settlement_items_matched
  CHECK (matched = (merchant_id IS NOT NULL OR repays_payout_id IS NOT NULL));

-- One suspense item per balance transaction booked to suspense: its PSP
-- data and the journal that booked it. Cleared by an operator's decision
-- (suspense_clearings) or reversed with its payout.
CREATE TABLE suspense_items (
  id                 text PRIMARY KEY CHECK (id ~ '^sus_[0-9A-Za-z]{24}$'),
  psp                text NOT NULL,
  payout_id          text NOT NULL REFERENCES settlement_payouts (id),
  psp_balance_tx_id  text NOT NULL,
  type               text NOT NULL,
  source             text NOT NULL,
  psp_intent_id      text,
  amount             bigint NOT NULL,
  fee                bigint NOT NULL,
  net                bigint NOT NULL,
  currency           text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  transaction_id     text NOT NULL REFERENCES ledger_transactions (id),
  created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (net = amount - fee),
  UNIQUE (psp, psp_balance_tx_id, payout_id)
);
CREATE INDEX suspense_items_psp ON suspense_items (psp, created_at);
CREATE TRIGGER suspense_items_append_only BEFORE UPDATE OR DELETE ON suspense_items
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER suspense_items_no_truncate BEFORE TRUNCATE ON suspense_items
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

-- An operator's decision about a suspense item: the account it goes to,
-- the reason, who decided, and the journal that moved it. At most one per
-- item; the row is the audit record (suspense belongs to no merchant).
CREATE TABLE suspense_clearings (
  item_id          text PRIMARY KEY REFERENCES suspense_items (id),
  target_account   text NOT NULL,
  reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  actor            text NOT NULL,
  transaction_id   text NOT NULL REFERENCES ledger_transactions (id),
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER suspense_clearings_append_only BEFORE UPDATE OR DELETE ON suspense_clearings
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER suspense_clearings_no_truncate BEFORE TRUNCATE ON suspense_clearings
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
