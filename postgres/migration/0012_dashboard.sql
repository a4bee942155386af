-- The merchant dashboard (issue 12): a payment's channel (ecommerce, or moto
-- for a mail/telephone order keyed in on the Virtual Terminal), and the
-- indexes that keep the dashboard's payment search and statistics fast at
-- tens of thousands of payments: each term of a free-text search (order id,
-- last 4, amount, receipt e-mail) is looked up by its own index, and the
-- statistics read a merchant's payments by creation time. The same in
-- sqlite/ and postgres/.
ALTER TABLE payments ADD COLUMN channel TEXT NOT NULL DEFAULT 'ecommerce';
CREATE INDEX payments_order ON payments (merchant_id, order_id);
CREATE INDEX payments_last4 ON payments (merchant_id, last4);
CREATE INDEX payments_amount ON payments (merchant_id, amount);
CREATE INDEX payments_email ON payments (merchant_id, lower(receipt_email));
CREATE INDEX payments_created ON payments (merchant_id, created_at);
