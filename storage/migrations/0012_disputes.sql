-- Disputes (chargebacks): see docs/ledger.md ("Disputes") and
-- docs/api.md. A dispute belongs to one payment intent and is known to its
-- PSP by (psp, psp_dispute_id). The row is versioned like an intent
-- (compare-and-swap on `version`); every change of it writes one audit row
-- (audit_events, intent_id set, action "dispute_...") in the same
-- transaction, and its money goes to the ledger, append-only as ever.
CREATE TABLE disputes (
  id                text PRIMARY KEY CHECK (id ~ '^dp_[0-9A-Za-z]{24}$'),
  merchant_id       text NOT NULL REFERENCES merchants (id),
  intent_id         text NOT NULL REFERENCES payment_intents (id),
  psp               text NOT NULL,
  psp_dispute_id    text NOT NULL CHECK (length(psp_dispute_id) BETWEEN 1 AND 255),
  amount            bigint NOT NULL CHECK (amount >= 0),
  currency          text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  reason            text NOT NULL DEFAULT '' CHECK (length(reason) <= 100),
  status            text NOT NULL CHECK (status IN ('warning_needs_response', 'needs_response',
                      'under_review', 'won', 'lost')),
  evidence_due_by   timestamptz,
  -- What the ledger holds for it: fees booked, and the open balance in
  -- `disputes` (withdrawn - reinstated - realised as a loss).
  fee               bigint NOT NULL DEFAULT 0,
  open_amount       bigint NOT NULL DEFAULT 0,
  funds_withdrawn   boolean NOT NULL DEFAULT false,
  funds_reinstated  boolean NOT NULL DEFAULT false,
  -- The evidence sent (a JSON object of strings) and when.
  evidence          jsonb NOT NULL DEFAULT '{}'::jsonb,
  evidence_submitted_at timestamptz,
  -- The PSP's time of the newest event applied: older news never moves the
  -- status back.
  psp_updated       timestamptz NOT NULL DEFAULT to_timestamp(0),
  version           bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (psp, psp_dispute_id),
  -- A closed dispute holds nothing open in the ledger.
  CHECK (status <> 'lost' OR open_amount = 0)
);
-- Lists are newest first per merchant; the open ones by deadline.
CREATE INDEX disputes_merchant_created ON disputes (merchant_id, created_at DESC, id DESC);
CREATE INDEX disputes_intent ON disputes (intent_id);
CREATE INDEX disputes_open_due ON disputes (evidence_due_by)
  WHERE status IN ('warning_needs_response', 'needs_response', 'under_review');

-- Every movement of a dispute's money at the PSP (Stripe: the dispute's
-- balance transactions), booked once: the unique key makes a redelivered or
-- reordered event book nothing twice. Append-only.
CREATE TABLE dispute_movements (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dispute_id         text NOT NULL REFERENCES disputes (id),
  psp                text NOT NULL,
  psp_movement_id    text NOT NULL,
  amount             bigint NOT NULL,  -- signed: negative withdrawn, positive reinstated
  fee                bigint NOT NULL,
  currency           text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  transaction_id     text NOT NULL REFERENCES ledger_transactions (id),
  psp_created        timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (psp, psp_movement_id)
);
CREATE INDEX dispute_movements_dispute ON dispute_movements (dispute_id, id);
CREATE TRIGGER dispute_movements_append_only
  BEFORE UPDATE OR DELETE ON dispute_movements
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER dispute_movements_no_truncate
  BEFORE TRUNCATE ON dispute_movements
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

-- The chart gains `disputes` (contra revenue) and `dispute_losses`
-- (expense), per merchant: core::chart_of_accounts(). The (code, type)
-- CHECK of 0004 was created unnamed, so it is found by what it says.
DO $$
DECLARE c text;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'ledger_accounts'::regclass AND contype = 'c'
             AND pg_get_constraintdef(oid) LIKE '%auth_hold_offset%'
  LOOP
    EXECUTE format('ALTER TABLE ledger_accounts DROP CONSTRAINT %I', c);
  END LOOP;
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'reconciliation_differences'::regclass AND contype = 'c'
             AND pg_get_constraintdef(oid) LIKE '%payout%'
  LOOP
    EXECUTE format('ALTER TABLE reconciliation_differences DROP CONSTRAINT %I', c);
  END LOOP;
END $$;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_code_type
  CHECK ((code, type) IN (('psp_receivable', 'asset'), ('merchant_revenue', 'revenue'),
    ('refunds', 'contra_revenue'), ('psp_fees', 'expense'), ('bank', 'asset'),
    ('auth_holds', 'memo'), ('auth_hold_offset', 'memo'), ('disputes', 'contra_revenue'),
    ('dispute_losses', 'expense')));
-- Reconciliation matches a dispute's balance transactions to its booking.
ALTER TABLE reconciliation_differences ADD CONSTRAINT reconciliation_differences_object
  CHECK (object IN ('charge', 'refund', 'fee', 'payout', 'dispute'));
-- A dispute's line of a payout names its dispute.
ALTER TABLE settlement_items ADD COLUMN dispute_id text REFERENCES disputes (id);
