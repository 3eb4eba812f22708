-- PSPs as plug-in providers (docs/architecture.md, "PSP providers").
--
-- * Asynchronous PSPs (Adyen) accept a capture or a cancellation and confirm
--   it later by an event: the intent waits in 'capture_pending' or
--   'cancel_pending' meanwhile, and nothing is booked until the PSP confirms.
-- * A merchant may have a default PSP (NULL: the engine's default), and a
--   payment link may name the PSP its intents go to (NULL: the merchant's
--   default when a shopper opens it). Operations on an intent always go to
--   the PSP that holds it (payment_intents.psp).
ALTER TABLE payment_intents DROP CONSTRAINT payment_intents_status_check;
ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_status_check
  CHECK (status IN ('created', 'requires_action', 'processing', 'authorized', 'capture_pending',
                    'cancel_pending', 'captured', 'partially_refunded', 'refunded', 'canceled',
                    'expired'));
ALTER TABLE merchants ADD COLUMN default_psp text
  CHECK (default_psp ~ '^[a-z][a-z0-9_-]{0,31}$');
ALTER TABLE payment_links ADD COLUMN psp text
  CHECK (psp ~ '^[a-z][a-z0-9_-]{0,31}$');
