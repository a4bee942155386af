-- A batch's items are read from its payments and refunds (by batch_id)
-- rather than copied into batch_items at the close: the copy doubled the
-- cost of closing a batch and held nothing the rows do not (a captured
-- payment's amount, RRN, STAN, authorization code, card and capture time
-- never change). Every batch_items row has its payment's or refund's
-- batch_id, so nothing is lost. The items of a batch are paged by RRN.

DROP TABLE batch_items;
DROP INDEX payments_batch;
DROP INDEX refunds_batch;
CREATE INDEX payments_batch ON payments (batch_id, rrn) WHERE batch_id IS NOT NULL;
CREATE INDEX refunds_batch ON refunds (batch_id, rrn) WHERE batch_id IS NOT NULL;

-- A deposit is paid when its funding date starts in the merchant's time
-- zone (funding_at), not at midnight UTC. Deposits made before this carry
-- midnight UTC of their funding date, as they were paid until now.
ALTER TABLE deposits ADD COLUMN funding_at BIGINT NOT NULL DEFAULT 0;
UPDATE deposits SET funding_at = CAST(extract(epoch FROM CAST(funding_date AS date)) AS BIGINT) * 1000000;
DROP INDEX deposits_pending;
CREATE INDEX deposits_pending ON deposits (funding_at) WHERE status = 'pending';
