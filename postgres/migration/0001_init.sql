-- The same tables, indexes and meanings as sqlite/migration/0001_init.sql.
-- Times are BIGINT microseconds since the epoch (NULL for none), exactly as
-- in SQLite, so both stores read and compare them the same way. Ids sort
-- byte by byte (COLLATE "C"), as in SQLite: they are pagination cursors.

CREATE TABLE merchants (
	id            TEXT COLLATE "C" PRIMARY KEY,
	name          TEXT NOT NULL,
	email         TEXT NOT NULL DEFAULT '',
	require_ack   BOOLEAN NOT NULL DEFAULT FALSE,
	ack_window_ms BIGINT NOT NULL DEFAULT 0,
	mcc           TEXT NOT NULL,
	acquirer_id   TEXT NOT NULL,
	terminal_id   TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);

CREATE TABLE api_keys (
	id          TEXT COLLATE "C" PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	kind        TEXT NOT NULL,
	prefix      TEXT NOT NULL,
	hash        TEXT NOT NULL UNIQUE,
	created_at  BIGINT NOT NULL,
	revoked_at  BIGINT
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

CREATE TABLE data_keys (
	id         TEXT COLLATE "C" PRIMARY KEY,
	wrapped    BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE cards (
	id          TEXT COLLATE "C" PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	brand       TEXT NOT NULL,
	first6      TEXT NOT NULL,
	last4       TEXT NOT NULL,
	exp_month   INTEGER NOT NULL,
	exp_year    INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	name        TEXT NOT NULL DEFAULT '',
	pan_key_id  TEXT NOT NULL,
	pan         BYTEA NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX cards_merchant ON cards (merchant_id, id);

CREATE TABLE payments (
	id                  TEXT COLLATE "C" PRIMARY KEY,
	merchant_id         TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	status              TEXT NOT NULL,
	amount              BIGINT NOT NULL,
	currency            TEXT NOT NULL,
	amount_captured     BIGINT NOT NULL DEFAULT 0,
	amount_refunded     BIGINT NOT NULL DEFAULT 0,
	capture_requested   BOOLEAN NOT NULL,
	brand               TEXT NOT NULL,
	first6              TEXT NOT NULL,
	last4               TEXT NOT NULL,
	exp_month           INTEGER NOT NULL,
	exp_year            INTEGER NOT NULL,
	fingerprint         TEXT NOT NULL,
	pan_key_id          TEXT NOT NULL,
	pan                 BYTEA NOT NULL,
	card_id             TEXT NOT NULL DEFAULT '',
	confirmation_number TEXT NOT NULL UNIQUE,
	stan                TEXT NOT NULL,
	rrn                 TEXT NOT NULL,
	transmitted_at      BIGINT NOT NULL,
	auth_code           TEXT NOT NULL DEFAULT '',
	response_code       TEXT NOT NULL DEFAULT '',
	decline_code        TEXT NOT NULL DEFAULT '',
	decline_reason      TEXT NOT NULL DEFAULT '',
	description         TEXT NOT NULL DEFAULT '',
	order_id            TEXT NOT NULL DEFAULT '',
	metadata            TEXT NOT NULL DEFAULT '',
	receipt_email       TEXT NOT NULL DEFAULT '',
	require_ack         BOOLEAN NOT NULL DEFAULT FALSE,
	ack_deadline        BIGINT,
	acked_at            BIGINT,
	void_reason         TEXT NOT NULL DEFAULT '',
	idempotency_key     TEXT NOT NULL DEFAULT '',
	created_at          BIGINT NOT NULL,
	updated_at          BIGINT NOT NULL,
	captured_at         BIGINT,
	voided_at           BIGINT,
	settled_at          BIGINT,
	version             INTEGER NOT NULL DEFAULT 1,
	trace               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX payments_merchant ON payments (merchant_id, id);
CREATE UNIQUE INDEX payments_rrn ON payments (rrn);
CREATE INDEX payments_authorized ON payments (created_at) WHERE status = 'authorized';
CREATE INDEX payments_in_doubt ON payments (updated_at) WHERE status IN ('pending', 'capturing', 'voiding');
CREATE INDEX payments_ack ON payments (ack_deadline) WHERE require_ack AND acked_at IS NULL;
CREATE INDEX payments_idempotency ON payments (merchant_id, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE refunds (
	id              TEXT COLLATE "C" PRIMARY KEY,
	payment_id      TEXT COLLATE "C" NOT NULL REFERENCES payments (id),
	merchant_id     TEXT COLLATE "C" NOT NULL,
	amount          BIGINT NOT NULL,
	currency        TEXT NOT NULL,
	status          TEXT NOT NULL,
	reason          TEXT NOT NULL DEFAULT '',
	stan            TEXT NOT NULL,
	rrn             TEXT NOT NULL,
	transmitted_at  BIGINT NOT NULL,
	response_code   TEXT NOT NULL DEFAULT '',
	idempotency_key TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE UNIQUE INDEX refunds_rrn ON refunds (rrn);
CREATE INDEX refunds_pending ON refunds (updated_at) WHERE status = 'pending';
CREATE INDEX refunds_idempotency ON refunds (merchant_id, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE idempotency_keys (
	merchant_id  TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	done         BOOLEAN NOT NULL DEFAULT FALSE,
	status       INTEGER NOT NULL DEFAULT 0,
	body         BYTEA,
	created_at   BIGINT NOT NULL,
	locked_at    BIGINT NOT NULL,
	PRIMARY KEY (merchant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Numbers handed out in blocks (RRNs and STANs), never twice.
CREATE TABLE sequences (
	name TEXT PRIMARY KEY,
	next BIGINT NOT NULL
);
