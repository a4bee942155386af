CREATE TABLE merchants (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	email         TEXT NOT NULL DEFAULT '',
	require_ack   INTEGER NOT NULL DEFAULT 0,
	ack_window_ms INTEGER NOT NULL DEFAULT 0,
	mcc           TEXT NOT NULL,
	acquirer_id   TEXT NOT NULL,
	terminal_id   TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
	id          TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	kind        TEXT NOT NULL,
	prefix      TEXT NOT NULL,
	hash        TEXT NOT NULL UNIQUE,
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

CREATE TABLE data_keys (
	id         TEXT PRIMARY KEY,
	wrapped    BLOB NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE cards (
	id          TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	brand       TEXT NOT NULL,
	first6      TEXT NOT NULL,
	last4       TEXT NOT NULL,
	exp_month   INTEGER NOT NULL,
	exp_year    INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	name        TEXT NOT NULL DEFAULT '',
	pan_key_id  TEXT NOT NULL,
	pan         BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX cards_merchant ON cards (merchant_id, id);

CREATE TABLE payments (
	id                  TEXT PRIMARY KEY,
	merchant_id         TEXT NOT NULL REFERENCES merchants (id),
	status              TEXT NOT NULL,
	amount              INTEGER NOT NULL,
	currency            TEXT NOT NULL,
	amount_captured     INTEGER NOT NULL DEFAULT 0,
	amount_refunded     INTEGER NOT NULL DEFAULT 0,
	capture_requested   INTEGER NOT NULL,
	brand               TEXT NOT NULL,
	first6              TEXT NOT NULL,
	last4               TEXT NOT NULL,
	exp_month           INTEGER NOT NULL,
	exp_year            INTEGER NOT NULL,
	fingerprint         TEXT NOT NULL,
	pan_key_id          TEXT NOT NULL,
	pan                 BLOB NOT NULL,
	card_id             TEXT NOT NULL DEFAULT '',
	confirmation_number TEXT NOT NULL UNIQUE,
	stan                TEXT NOT NULL,
	rrn                 TEXT NOT NULL,
	transmitted_at      INTEGER NOT NULL,
	auth_code           TEXT NOT NULL DEFAULT '',
	response_code       TEXT NOT NULL DEFAULT '',
	decline_code        TEXT NOT NULL DEFAULT '',
	decline_reason      TEXT NOT NULL DEFAULT '',
	description         TEXT NOT NULL DEFAULT '',
	order_id            TEXT NOT NULL DEFAULT '',
	metadata            TEXT NOT NULL DEFAULT '',
	receipt_email       TEXT NOT NULL DEFAULT '',
	require_ack         INTEGER NOT NULL DEFAULT 0,
	ack_deadline        INTEGER,
	acked_at            INTEGER,
	void_reason         TEXT NOT NULL DEFAULT '',
	idempotency_key     TEXT NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	captured_at         INTEGER,
	voided_at           INTEGER,
	settled_at          INTEGER,
	version             INTEGER NOT NULL DEFAULT 1,
	trace               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX payments_merchant ON payments (merchant_id, id);
CREATE UNIQUE INDEX payments_rrn ON payments (rrn);
CREATE INDEX payments_authorized ON payments (created_at) WHERE status = 'authorized';
CREATE INDEX payments_in_doubt ON payments (updated_at) WHERE status IN ('pending', 'capturing', 'voiding');
CREATE INDEX payments_ack ON payments (ack_deadline) WHERE require_ack = 1 AND acked_at IS NULL;
CREATE INDEX payments_idempotency ON payments (merchant_id, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE refunds (
	id              TEXT PRIMARY KEY,
	payment_id      TEXT NOT NULL REFERENCES payments (id),
	merchant_id     TEXT NOT NULL,
	amount          INTEGER NOT NULL,
	currency        TEXT NOT NULL,
	status          TEXT NOT NULL,
	reason          TEXT NOT NULL DEFAULT '',
	stan            TEXT NOT NULL,
	rrn             TEXT NOT NULL,
	transmitted_at  INTEGER NOT NULL,
	response_code   TEXT NOT NULL DEFAULT '',
	idempotency_key TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE UNIQUE INDEX refunds_rrn ON refunds (rrn);
CREATE INDEX refunds_pending ON refunds (updated_at) WHERE status = 'pending';
CREATE INDEX refunds_idempotency ON refunds (merchant_id, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE idempotency_keys (
	merchant_id  TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	done         INTEGER NOT NULL DEFAULT 0,
	status       INTEGER NOT NULL DEFAULT 0,
	body         BLOB,
	created_at   INTEGER NOT NULL,
	locked_at    INTEGER NOT NULL,
	PRIMARY KEY (merchant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Numbers handed out in blocks (RRNs and STANs), never twice.
CREATE TABLE sequences (
	name TEXT PRIMARY KEY,
	next INTEGER NOT NULL
);
