-- Visa's merchant-initiated transactions (issue 19): an intent the merchant
-- starts without the customer present (a delayed charge, a resubmission,
-- an incremental or recurring charge) says so on create. Its authorisation
-- is then valid 5 days on a Visa card (core/authorization_expiry.cpp),
-- whatever the PSP's own window. Every existing intent was customer-
-- initiated: the default keeps them so, and the column is never NULL.
ALTER TABLE payment_intents
  ADD COLUMN merchant_initiated boolean NOT NULL DEFAULT false;
