-- A PSP refund is booked once: refunds made through the API and refunds
-- learnt from webhooks (made at the PSP directly) meet on this index.
CREATE UNIQUE INDEX refunds_psp_reference ON refunds (psp_reference)
  WHERE psp_reference IS NOT NULL;
