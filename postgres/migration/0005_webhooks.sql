-- The same as sqlite/migration/0005_webhooks.sql: post-backs (issue 10),
-- events written in the transactions of the changes they report (an
-- outbox); the merchants' webhook endpoints; the deliveries of events to
-- endpoints, and their attempts.

-- Events, newest first by id (ids sort by time). data is the JSON body
-- posted, kept byte for byte (BYTEA, not JSONB, which would respell it).
-- payment_id and session_id are '' for an event about none.
CREATE TABLE events (
	id          TEXT COLLATE "C" PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	type        TEXT COLLATE "C" NOT NULL,
	payment_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
	session_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
	sequence    INTEGER NOT NULL DEFAULT 0,
	data        BYTEA NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX events_merchant ON events (merchant_id, id);
CREATE INDEX events_type ON events (merchant_id, type, id);
CREATE INDEX events_payment ON events (merchant_id, payment_id, id);

-- Webhook endpoints. events is the JSON array of the types an endpoint
-- takes (["*"] for all): an event is delivered to the endpoints whose
-- array holds its type, quoted, or "*". The secrets are sealed by the
-- vault; the one a rotation replaced (prev_*) signs too until
-- prev_expires_at.
CREATE TABLE webhook_endpoints (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	merchant_id        TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	url                TEXT NOT NULL,
	events             TEXT COLLATE "C" NOT NULL,
	secret_key_id      TEXT NOT NULL,
	secret             BYTEA NOT NULL,
	prev_secret_key_id TEXT,
	prev_secret        BYTEA,
	prev_expires_at    BIGINT,
	status             TEXT NOT NULL,
	failures           INTEGER NOT NULL DEFAULT 0,
	last_error         TEXT NOT NULL DEFAULT '',
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, id);

-- An event's delivery to an endpoint (id: the event id, ".", the endpoint
-- id), written with the event, claimed by the node that posts it: next_at
-- is when it is due, or while claimed when the lease ends.
CREATE TABLE webhook_deliveries (
	id          TEXT COLLATE "C" PRIMARY KEY,
	event_id    TEXT COLLATE "C" NOT NULL REFERENCES events (id),
	endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id),
	merchant_id TEXT COLLATE "C" NOT NULL,
	status      TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     BIGINT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status);

-- Every try of a delivery: the HTTP status (0 if none came), the time to
-- the answer, why it failed, and the answer's first 1 KiB.
CREATE TABLE webhook_attempts (
	delivery_id TEXT COLLATE "C" NOT NULL REFERENCES webhook_deliveries (id),
	event_id    TEXT COLLATE "C" NOT NULL,
	endpoint_id TEXT COLLATE "C" NOT NULL,
	at          BIGINT NOT NULL,
	status      INTEGER NOT NULL,
	millis      BIGINT NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	response    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, at);
