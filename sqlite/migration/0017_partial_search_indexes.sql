-- A payment without an order id or a receipt e-mail is not found by
-- searching for one (a search term is never empty), yet its empty values
-- were indexed on every sale (issue 13). Queries that use these indexes
-- say order_id <> '' or receipt_email <> '' too, so the planner can use
-- them for a bound value.
DROP INDEX payments_order;
CREATE INDEX payments_order ON payments (merchant_id, order_id) WHERE order_id <> '';
DROP INDEX payments_email;
CREATE INDEX payments_email ON payments (merchant_id, lower(receipt_email)) WHERE receipt_email <> '';
