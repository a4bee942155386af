-- E-mail confirmations (issue 12): the merchant's notification address, and
-- the mail the payment store writes in the transactions of the changes it
-- reports (an outbox), claimed by the node that sends it: next_at is when
-- it is due, or while claimed when the lease ends. to_address is the
-- customer's ReceiptEmail or the merchant's notify_email as they were when
-- the mail was queued, merchant_name the name the customer knows the
-- merchant by; facts is the JSON of paygate.MailFacts. subject, text_body
-- and html_body are '' until the worker composes the message.
ALTER TABLE merchants ADD COLUMN notify_email TEXT NOT NULL DEFAULT '';

CREATE TABLE mail (
	id            TEXT PRIMARY KEY,
	merchant_id   TEXT NOT NULL REFERENCES merchants (id),
	payment_id    TEXT NOT NULL DEFAULT '',
	refund_id     TEXT NOT NULL DEFAULT '',
	kind          TEXT NOT NULL,
	recipient     TEXT NOT NULL,
	to_address    TEXT NOT NULL,
	merchant_name TEXT NOT NULL,
	facts         TEXT NOT NULL,
	subject       TEXT NOT NULL DEFAULT '',
	text_body     TEXT NOT NULL DEFAULT '',
	html_body     TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       INTEGER NOT NULL,
	last_error    TEXT NOT NULL DEFAULT '',
	sent_at       INTEGER,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX mail_due ON mail (next_at) WHERE status = 'queued';
CREATE INDEX mail_merchant ON mail (merchant_id, id);
CREATE INDEX mail_payment ON mail (merchant_id, payment_id, id);
