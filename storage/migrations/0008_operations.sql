-- Operations as resumable records (docs/architecture.md, "Operations").
--
-- An idempotency key's row is the operation's record. Two additions make a
-- retry finish what the first attempt started instead of deciding afresh:
--
-- * recovery point 'psp_requested': the operation was admitted against the
--   intent and the PSP is about to be called; `operation`, `op_amount` (the
--   amount the merchant asked for, NULL for "all") and `refund_id` say what
--   to repeat, with the same PSP idempotency key.
-- * `holder`: the engine process holding the lease (core::instance_id, also
--   its connections' application_name). A lease whose holder has no
--   connection left is taken over at once, without waiting for it to lapse.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_recovery_point_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_recovery_point_check
  CHECK (recovery_point IN ('started', 'psp_requested', 'psp_called', 'finished'));
ALTER TABLE idempotency_keys
  ADD COLUMN holder text,
  ADD COLUMN operation text CHECK (operation IN ('create', 'capture', 'cancel', 'refund')),
  ADD COLUMN op_amount bigint CHECK (op_amount > 0);
