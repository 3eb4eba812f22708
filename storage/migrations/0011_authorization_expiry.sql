-- Authorizations expire (issue 19; docs/architecture.md, "Authorization
-- expiry").
--
-- * expires_at: when the authorization lapses, set in the same write that
--   records 'authorized' (the PSP's own deadline, else the engine's table per
--   PSP and card network, core/authorization_expiry.cpp). Kept after the
--   intent moves on, as the record of the deadline it had.
-- * expiry_warned_at: when the merchant was warned that the authorization is
--   about to lapse (outbound event payment_intent.authorization_expiring);
--   set once, in the transaction that appends the event, so a merchant is
--   warned once per intent.
-- * The due-date scan reads authorized intents by deadline; the partial
--   index holds only those, so it stays small however many intents exist.
ALTER TABLE payment_intents ADD COLUMN expires_at timestamptz;
ALTER TABLE payment_intents ADD COLUMN expiry_warned_at timestamptz;
ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_expires_after_created
  CHECK (expires_at IS NULL OR expires_at > created_at - interval '1 day');
CREATE INDEX payment_intents_authorized_expiry ON payment_intents (expires_at)
  WHERE status = 'authorized' AND expires_at IS NOT NULL;
