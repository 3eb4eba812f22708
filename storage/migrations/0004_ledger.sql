-- Ledger: double-entry, append-only, integer minor units per currency.
--
-- The posting rules live in core/ledger.cpp and the application validates
-- every journal before writing it; this schema enforces the same invariants
-- again, so no program (nor a person with psql) can write an unbalanced or
-- altered book:
--   * each account has one currency, and an entry's currency is its account's
--     (composite foreign key);
--   * an entry has exactly one positive side;
--   * at commit, every journal transaction has at least two entries and, per
--     currency, debits equal credits, separately for real and memo accounts
--     (deferred constraint triggers);
--   * entries join a journal transaction only in the database transaction
--     that created it, so a committed journal can never grow;
--   * a reversal mirrors what it reverses, and a transaction is reversed at
--     most once;
--   * UPDATE, DELETE and TRUNCATE are refused on all three tables.

-- The chart of accounts is core::chart_of_accounts(); the CHECK on
-- (code, type) below repeats it so a row can never carry the wrong type.
CREATE TABLE ledger_accounts (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code         text NOT NULL,
  scope        text NOT NULL CHECK (scope ~ '^[A-Za-z0-9_-]{1,64}$'),
  key          text GENERATED ALWAYS AS (code || ':' || scope) STORED,
  type         text NOT NULL CHECK (type IN ('asset', 'liability', 'revenue', 'expense',
                 'contra_revenue', 'memo')),
  currency     text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  merchant_id  text REFERENCES merchants (id),
  psp          text,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((code, type) IN (('psp_receivable', 'asset'), ('merchant_revenue', 'revenue'),
    ('refunds', 'contra_revenue'), ('psp_fees', 'expense'), ('bank', 'asset'),
    ('auth_holds', 'memo'), ('auth_hold_offset', 'memo'))),
  -- A merchant-scoped account names its merchant, a PSP-scoped one its PSP.
  CHECK (num_nonnulls(merchant_id, psp) = 1),
  CHECK (merchant_id IS NULL OR merchant_id = scope),
  CHECK (psp IS NULL OR psp = scope),
  -- An account is a key in ONE currency: psp_receivable:stripe in usd and in
  -- eur are two accounts, never summed.
  UNIQUE (key, currency),
  -- The target of ledger_entries' (account_id, currency) foreign key.
  UNIQUE (id, currency)
);
CREATE INDEX ledger_accounts_merchant ON ledger_accounts (merchant_id, id);

CREATE TABLE ledger_transactions (
  id          text PRIMARY KEY CHECK (id ~ '^ltx_[0-9A-Za-z]{24}$'),
  kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,39}$'),
  intent_id   text REFERENCES payment_intents (id),
  refund_id   text REFERENCES refunds (id),
  reverses    text REFERENCES ledger_transactions (id),
  memo        text NOT NULL DEFAULT '' CHECK (length(memo) <= 500),
  -- Set by ledger_transactions_stamp, whatever the INSERT says: the time it
  -- was recorded (balances "as of" read it, so it must not be backdated) and
  -- the database transaction that may add its entries.
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  written_in  xid8,
  CHECK ((kind = 'reversal') = (reverses IS NOT NULL)),
  CHECK (reverses IS DISTINCT FROM id)
);
CREATE INDEX ledger_transactions_intent ON ledger_transactions (intent_id, created_at)
  WHERE intent_id IS NOT NULL;
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at);
-- A transaction is reversed at most once.
CREATE UNIQUE INDEX ledger_transactions_reversed_once ON ledger_transactions (reverses)
  WHERE reverses IS NOT NULL;

CREATE TABLE ledger_entries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id  text NOT NULL REFERENCES ledger_transactions (id),
  account_id      bigint NOT NULL,
  currency        text NOT NULL,
  debit           bigint NOT NULL DEFAULT 0 CHECK (debit >= 0),
  credit          bigint NOT NULL DEFAULT 0 CHECK (credit >= 0),
  CONSTRAINT ledger_entries_one_side CHECK ((debit > 0) <> (credit > 0)),
  CONSTRAINT ledger_entries_account_currency FOREIGN KEY (account_id, currency)
    REFERENCES ledger_accounts (id, currency)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

CREATE FUNCTION ledger_transactions_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := clock_timestamp();
  -- The top-level transaction's id, also from inside a savepoint.
  NEW.written_in := pg_current_xact_id();
  RETURN NEW;
END;
$$;

CREATE TRIGGER ledger_transactions_stamp
  BEFORE INSERT ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_transactions_stamp();

CREATE FUNCTION ledger_entries_same_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ledger_transactions
                 WHERE id = NEW.transaction_id AND written_in = pg_current_xact_id()) THEN
    RAISE EXCEPTION 'ledger transaction % is closed: entries are added only when it is written',
      NEW.transaction_id USING ERRCODE = 'P0001';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER ledger_entries_same_write
  BEFORE INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_same_write();

-- The commit-time check of one journal transaction. It runs once per entry
-- and once for the header (so a header without entries is caught too); a
-- journal holds a handful of entries, so the repeats cost little.
CREATE FUNCTION ledger_check_transaction(tx text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  entry_count bigint;
  bad record;
  original text;
BEGIN
  SELECT count(*) INTO entry_count FROM ledger_entries WHERE transaction_id = tx;
  IF entry_count < 2 THEN
    RAISE EXCEPTION 'ledger transaction % has % entries: at least two are required',
      tx, entry_count USING ERRCODE = 'P0001';
  END IF;
  -- Real and memo accounts balance separately, per currency.
  SELECT e.currency, a.type = 'memo' AS memo, sum(e.debit) AS debits, sum(e.credit) AS credits
    INTO bad
    FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
   WHERE e.transaction_id = tx
   GROUP BY e.currency, a.type = 'memo'
  HAVING sum(e.debit) <> sum(e.credit)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % is unbalanced in %: debits % against credits %',
      tx, bad.currency || CASE WHEN bad.memo THEN ' (memo accounts)' ELSE '' END, bad.debits,
      bad.credits USING ERRCODE = 'P0001';
  END IF;
  SELECT reverses INTO original FROM ledger_transactions WHERE id = tx;
  IF original IS NOT NULL AND EXISTS (
      SELECT 1
        FROM (SELECT account_id, sum(debit - credit) AS net FROM ledger_entries
               WHERE transaction_id = tx GROUP BY account_id) r
        FULL JOIN (SELECT account_id, sum(credit - debit) AS net FROM ledger_entries
                    WHERE transaction_id = original GROUP BY account_id) o USING (account_id)
       WHERE r.net IS DISTINCT FROM o.net) THEN
    RAISE EXCEPTION 'ledger transaction % does not mirror %, which it reverses', tx, original
      USING ERRCODE = 'P0001';
  END IF;
END;
$$;

CREATE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_check_transaction(NEW.transaction_id);
  RETURN NULL;
END;
$$;

CREATE FUNCTION ledger_transactions_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_check_transaction(NEW.id);
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_entries_balanced
  AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_balanced();

CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
  AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_transactions_balanced();

-- Append-only, whoever asks (refuse_mutation comes from 0001). Corrections
-- are reversing transactions.
CREATE TRIGGER ledger_accounts_append_only
  BEFORE UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_accounts_no_truncate
  BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_transactions_append_only
  BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_transactions_no_truncate
  BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_entries_append_only
  BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_entries_no_truncate
  BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
