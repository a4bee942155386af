-- The browser models (issue 9): merchants' settings, signing secrets,
-- hosted payment sessions and the deliveries of their outcomes.

-- A merchant's settings: the origins its pages live on (a JSON array of
-- strings), the result URLs, the model a session uses when it names none,
-- and what the payment page shows.
ALTER TABLE merchants ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
ALTER TABLE merchants ADD COLUMN success_url TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN decline_url TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN cancel_url TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN default_model TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN logo_url TEXT NOT NULL DEFAULT '';

-- Signing secrets, sealed by the vault as stored cards' numbers are. A
-- merchant has at most one current secret (no expires_at); those it
-- replaced keep working until they expire.
CREATE TABLE signing_secrets (
	id          TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	key_id      TEXT NOT NULL,
	ciphertext  BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER
);
CREATE INDEX signing_secrets_merchant ON signing_secrets (merchant_id, created_at);
CREATE UNIQUE INDEX signing_secrets_current ON signing_secrets (merchant_id) WHERE expires_at IS NULL;

-- Hosted payment sessions. metadata is a JSON object ('' for none). The
-- signed form that started a session (form_key, '' if the API did) starts
-- no second one.
CREATE TABLE sessions (
	id             TEXT PRIMARY KEY,
	merchant_id    TEXT NOT NULL REFERENCES merchants (id),
	status         TEXT NOT NULL,
	model          TEXT NOT NULL,
	amount         INTEGER NOT NULL,
	currency       TEXT NOT NULL,
	order_id       TEXT NOT NULL DEFAULT '',
	description    TEXT NOT NULL DEFAULT '',
	return_url     TEXT NOT NULL,
	cancel_url     TEXT NOT NULL DEFAULT '',
	capture        INTEGER NOT NULL,
	customer_email TEXT NOT NULL DEFAULT '',
	metadata       TEXT NOT NULL DEFAULT '',
	form_key       TEXT NOT NULL DEFAULT '',
	attempts       INTEGER NOT NULL DEFAULT 0,
	declines       INTEGER NOT NULL DEFAULT 0,
	paying         INTEGER NOT NULL DEFAULT 0,
	paying_since   INTEGER,
	payment_id     TEXT NOT NULL DEFAULT '',
	sequence       INTEGER NOT NULL DEFAULT 0,
	outcome        TEXT NOT NULL DEFAULT '',
	expires_at     INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	completed_at   INTEGER,
	acked_at       INTEGER,
	version        INTEGER NOT NULL DEFAULT 1
);
-- Sessions an attempt was left paying on (a node stopped): the sweeper
-- settles them.
CREATE INDEX sessions_paying ON sessions (paying_since) WHERE paying = 1;
CREATE UNIQUE INDEX sessions_form_key ON sessions (merchant_id, form_key) WHERE form_key <> '';

-- Session outcomes still to reach the merchant (the Web Proxy model's
-- retries), one per session, claimed by the node that retries them:
-- next_at is when one is due, or while claimed when the lease ends.
CREATE TABLE deliveries (
	id          TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	session_id  TEXT NOT NULL UNIQUE REFERENCES sessions (id),
	status      TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_at);
