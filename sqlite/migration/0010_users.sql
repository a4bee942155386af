-- The dashboard's users and sign-in (issue 12): users, their set-password
-- tokens and recovery codes (hashed), failed sign-ins (counted here so that
-- every node agrees on a lock-out), dashboard sessions (token hashed) and
-- the audit log, which triggers keep append-only.

CREATE TABLE users (
	id             TEXT PRIMARY KEY,
	merchant_id    TEXT NOT NULL REFERENCES merchants (id),
	email          TEXT NOT NULL UNIQUE,
	role           TEXT NOT NULL,
	password_hash  TEXT NOT NULL DEFAULT '',
	totp_secret    TEXT NOT NULL DEFAULT '',
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	disabled       INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX users_merchant ON users (merchant_id, id);

CREATE TABLE user_tokens (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id),
	merchant_id TEXT NOT NULL,
	token_hash  TEXT NOT NULL UNIQUE,
	expires_at  INTEGER NOT NULL,
	used_at     INTEGER,
	created_at  INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
	user_id    TEXT NOT NULL REFERENCES users (id),
	code_hash  TEXT NOT NULL,
	used_at    INTEGER,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE signin_failures (
	key TEXT NOT NULL,
	at  INTEGER NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures (key, at);

CREATE TABLE dash_sessions (
	id           TEXT PRIMARY KEY,
	token_hash   TEXT NOT NULL UNIQUE,
	user_id      TEXT NOT NULL REFERENCES users (id),
	merchant_id  TEXT NOT NULL,
	verified     INTEGER NOT NULL DEFAULT 0,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
CREATE INDEX dash_sessions_user ON dash_sessions (user_id);

CREATE TABLE audit_log (
	id          TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL,
	actor_type  TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	actor_email TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	target_id   TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '',
	ip          TEXT NOT NULL DEFAULT '',
	user_agent  TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
CREATE INDEX audit_log_merchant ON audit_log (merchant_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
