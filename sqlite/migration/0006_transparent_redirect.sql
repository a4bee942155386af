-- The transparent redirect (issue 10, seed 003): merchants' access keys,
-- the record of changes to the global result URLs, and one payment per
-- hashed form.

-- Access keys ("api_accesskey"), sealed by the vault as signing secrets
-- are: the gateway recomputes the form's hash with them. A merchant has at
-- most one current key (no expires_at); those it replaced keep verifying
-- until they expire.
CREATE TABLE access_keys (
	id          TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	key_id      TEXT NOT NULL,
	ciphertext  BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER
);
CREATE INDEX access_keys_merchant ON access_keys (merchant_id, created_at);
CREATE UNIQUE INDEX access_keys_current ON access_keys (merchant_id) WHERE expires_at IS NULL;

-- Changes of a merchant's global success and decline URLs: who made each
-- (an API key's id, or "cli"), when, the old and the new value.
CREATE TABLE url_changes (
	id          TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	field       TEXT NOT NULL,
	old_url     TEXT NOT NULL,
	new_url     TEXT NOT NULL,
	changed_by  TEXT NOT NULL,
	changed_at  INTEGER NOT NULL
);
CREATE INDEX url_changes_merchant ON url_changes (merchant_id, changed_at);

-- One signed form pays once: the payment of a transparent redirect form
-- has the idempotency key "tr_" and the form's hash, which no second
-- payment of the merchant may have (a double submit's second insert fails).
CREATE UNIQUE INDEX payments_tr_form ON payments (merchant_id, idempotency_key) WHERE substr(idempotency_key, 1, 3) = 'tr_';
