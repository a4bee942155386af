-- The same as sqlite/migration/0006_transparent_redirect.sql: the
-- transparent redirect (issue 10, seed 003), merchants' access keys, the
-- record of changes to the global result URLs, and one payment per hashed
-- form.

CREATE TABLE access_keys (
	id          TEXT COLLATE "C" PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	key_id      TEXT NOT NULL,
	ciphertext  BYTEA NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT
);
CREATE INDEX access_keys_merchant ON access_keys (merchant_id, created_at);
CREATE UNIQUE INDEX access_keys_current ON access_keys (merchant_id) WHERE expires_at IS NULL;

CREATE TABLE url_changes (
	id          TEXT COLLATE "C" PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	field       TEXT NOT NULL,
	old_url     TEXT NOT NULL,
	new_url     TEXT NOT NULL,
	changed_by  TEXT NOT NULL,
	changed_at  BIGINT NOT NULL
);
CREATE INDEX url_changes_merchant ON url_changes (merchant_id, changed_at);

CREATE UNIQUE INDEX payments_tr_form ON payments (merchant_id, idempotency_key) WHERE substr(idempotency_key, 1, 3) = 'tr_';
