-- A claimed webhook event names the engine process that claimed it
-- (core::instance_id, also its connections' application_name), like the
-- idempotency keys' leases (0008). An event whose claimer has no connection
-- to the database any more (it crashed) is claimable again at once, instead
-- of waiting out the lease: a PSP that cannot be read (Adyen) tells an
-- outcome only by its events, so a lost claim would hide it for the lease.
ALTER TABLE webhook_inbox ADD COLUMN claimed_by text;
