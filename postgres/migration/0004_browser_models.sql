-- The same as sqlite/migration/0004_browser_models.sql: the browser models
-- (issue 9), merchants' settings, signing secrets, hosted payment sessions
-- and the deliveries of their outcomes.

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
	id          TEXT COLLATE "C" PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	key_id      TEXT NOT NULL,
	ciphertext  BYTEA NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT
);
CREATE INDEX signing_secrets_merchant ON signing_secrets (merchant_id, created_at);
CREATE UNIQUE INDEX signing_secrets_current ON signing_secrets (merchant_id) WHERE expires_at IS NULL;

-- Hosted payment sessions. metadata is a JSON object ('' for none). The
-- signed form that started a session (form_key, '' if the API did) starts
-- no second one.
CREATE TABLE sessions (
	id             TEXT COLLATE "C" PRIMARY KEY,
	merchant_id    TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	status         TEXT NOT NULL,
	model          TEXT NOT NULL,
	amount         BIGINT NOT NULL,
	currency       TEXT NOT NULL,
	order_id       TEXT NOT NULL DEFAULT '',
	description    TEXT NOT NULL DEFAULT '',
	return_url     TEXT NOT NULL,
	cancel_url     TEXT NOT NULL DEFAULT '',
	capture        BOOLEAN NOT NULL,
	customer_email TEXT NOT NULL DEFAULT '',
	metadata       TEXT NOT NULL DEFAULT '',
	form_key       TEXT NOT NULL DEFAULT '',
	attempts       INTEGER NOT NULL DEFAULT 0,
	declines       INTEGER NOT NULL DEFAULT 0,
	paying         BOOLEAN NOT NULL DEFAULT FALSE,
	paying_since   BIGINT,
	payment_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
	sequence       INTEGER NOT NULL DEFAULT 0,
	outcome        TEXT NOT NULL DEFAULT '',
	expires_at     BIGINT NOT NULL,
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL,
	completed_at   BIGINT,
	acked_at       BIGINT,
	version        INTEGER NOT NULL DEFAULT 1
);
-- Sessions an attempt was left paying on (a node stopped): the sweeper
-- settles them.
CREATE INDEX sessions_paying ON sessions (paying_since) WHERE paying;
CREATE UNIQUE INDEX sessions_form_key ON sessions (merchant_id, form_key) WHERE form_key <> '';

-- Session outcomes still to reach the merchant (the Web Proxy model's
-- retries), one per session, claimed by the node that retries them:
-- next_at is when one is due, or while claimed when the lease ends.
CREATE TABLE deliveries (
	id          TEXT COLLATE "C" PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	session_id  TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES sessions (id),
	status      TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     BIGINT NOT NULL,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_at);
