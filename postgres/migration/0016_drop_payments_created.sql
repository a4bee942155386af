-- A payment's id starts with its creation time (paygate.NewID), so the
-- dashboard's ranges of creation times are ranges of ids, served by
-- payments_merchant (merchant_id, id) (paygate.IDFloor): this index was
-- one more written on every sale (issue 13) and read by nothing else.
DROP INDEX payments_created;
