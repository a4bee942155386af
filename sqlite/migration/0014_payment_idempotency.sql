-- A payment made through POST /v1/payments with an Idempotency-Key is its
-- own idempotency record (issue 13): request_hash is the keyed hash of the
-- request that made it, and while it is set, the key is the payment's
-- alone (unique per merchant), so a retry finds the payment and its answer
-- is rebuilt from it; no idempotency_keys row, no stored response. When the
-- key expires (IdempotencyTTL, pruned with the idempotency_keys) the hash
-- is cleared and the key is free again. Payments made otherwise (hosted
-- sessions, transparent redirect forms, the Virtual Terminal) and those
-- from before this migration keep an empty hash: their keys, which may
-- repeat, are looked up in the other, non-unique index. The same in
-- sqlite/ and postgres/.
ALTER TABLE payments ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
DROP INDEX payments_idempotency;
CREATE INDEX payments_idempotency ON payments (merchant_id, idempotency_key) WHERE idempotency_key <> '' AND request_hash = '';
CREATE UNIQUE INDEX payments_request ON payments (merchant_id, idempotency_key) WHERE request_hash <> '';
