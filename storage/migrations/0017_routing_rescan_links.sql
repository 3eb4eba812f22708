-- The durable rescan of routing orphans (issue 15; docs/architecture.md,
-- "Routing and failover"; actors/orphan_rescan.cpp).
--
-- An orphan is what a failed-over create may have left at a PSP. To find it
-- again the PSP's create must be sent once more, byte for byte the same
-- parameters under the same PSP idempotency key, so the PSP answers what it
-- made then. The key of a create without an Idempotency-Key is random and
-- lives only in the engine's memory, and the create's parameters are in
-- payment_intents only once some PSP made the intent: so each attempt now
-- records the PSP key it sends and the create's parameters. A restarted
-- engine's rescan reads them. Rows recorded before this migration have none
-- (NULL): the rescan cannot resend their create, and skips them.
ALTER TABLE routing_attempts
  ADD COLUMN psp_key        text,
  ADD COLUMN amount         bigint CHECK (amount > 0),
  ADD COLUMN currency       text CHECK (currency ~ '^[a-z]{3}$'),
  ADD COLUMN capture_method text CHECK (capture_method IN ('automatic', 'manual')),
  ADD COLUMN description    text,
  ADD COLUMN metadata       text,
  ADD COLUMN return_url     text;

-- The rescan reads the attempts after a failover that may have left an
-- orphan, oldest first; they are few next to all attempts.
CREATE INDEX routing_attempts_may_orphan ON routing_attempts (created_at)
  WHERE previous_may_exist;

-- Payment links routed (issue 15): a link whose create named no PSP has
-- each visit's intent placed by the merchant's routing rules, as an API
-- create that names none (psp then holds the merchant's default, where it
-- goes when no rule matches). Links made before keep the PSP they name.
ALTER TABLE payment_links
  ADD COLUMN routed boolean NOT NULL DEFAULT false;
