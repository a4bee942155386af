-- The same as sqlite/migration/0007_settlement.sql: end-of-day settlement (issue 11): merchants' cut-off, time zone and
-- pricing; batches, their items and deposits; each approved transaction's
-- batch.

ALTER TABLE merchants ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN cutoff TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN pricing TEXT NOT NULL DEFAULT ''; -- a Pricing.Code, '' for the default

-- A merchant's batches of one currency, numbered from 1. At most one is
-- open: closing it opens the next in the same transaction.
CREATE TABLE batches (
	id                            TEXT COLLATE "C" PRIMARY KEY,
	merchant_id                   TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	currency                      TEXT NOT NULL,
	number                        BIGINT NOT NULL,
	status                        TEXT NOT NULL,
	step                          TEXT NOT NULL DEFAULT '',
	debits_count                  BIGINT NOT NULL DEFAULT 0,
	debits_amount                 BIGINT NOT NULL DEFAULT 0,
	credits_count                 BIGINT NOT NULL DEFAULT 0,
	credits_amount                BIGINT NOT NULL DEFAULT 0,
	debit_reversals_count         BIGINT NOT NULL DEFAULT 0,
	debit_reversals_amount        BIGINT NOT NULL DEFAULT 0,
	credit_reversals_count        BIGINT NOT NULL DEFAULT 0,
	credit_reversals_amount       BIGINT NOT NULL DEFAULT 0,
	acq_debits_count              BIGINT NOT NULL DEFAULT 0,
	acq_debits_amount             BIGINT NOT NULL DEFAULT 0,
	acq_credits_count             BIGINT NOT NULL DEFAULT 0,
	acq_credits_amount            BIGINT NOT NULL DEFAULT 0,
	acq_debit_reversals_count     BIGINT NOT NULL DEFAULT 0,
	acq_debit_reversals_amount    BIGINT NOT NULL DEFAULT 0,
	acq_credit_reversals_count    BIGINT NOT NULL DEFAULT 0,
	acq_credit_reversals_amount   BIGINT NOT NULL DEFAULT 0,
	response_code                 TEXT NOT NULL DEFAULT '',
	differences                   TEXT NOT NULL DEFAULT '', -- JSON array of BatchDifference, '' for none
	resolution                    TEXT NOT NULL DEFAULT '',
	opened_at                     BIGINT NOT NULL,
	cutoff_at                     BIGINT NOT NULL,
	closed_at                     BIGINT,
	settled_at                    BIGINT,
	updated_at                    BIGINT NOT NULL,
	version                       BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX batches_open ON batches (merchant_id, currency) WHERE status = 'open';
CREATE UNIQUE INDEX batches_number ON batches (merchant_id, currency, number);
CREATE INDEX batches_merchant ON batches (merchant_id, id);
CREATE INDEX batches_due ON batches (cutoff_at) WHERE status = 'open';
CREATE INDEX batches_closing ON batches (updated_at) WHERE status = 'closing';

-- A batch's transactions as the close claimed them: what the 0320 uploads
-- and the export lists (of the card, brand, type and last four only).
CREATE TABLE batch_items (
	batch_id    TEXT COLLATE "C" NOT NULL REFERENCES batches (id),
	rrn         TEXT COLLATE "C" NOT NULL,
	kind        TEXT NOT NULL,
	payment_id  TEXT NOT NULL,
	refund_id   TEXT NOT NULL DEFAULT '',
	stan        TEXT NOT NULL,
	auth_code   TEXT NOT NULL,
	amount      BIGINT NOT NULL,
	currency    TEXT NOT NULL,
	card_brand  TEXT NOT NULL,
	card_type   TEXT NOT NULL,
	card_last4  TEXT NOT NULL,
	approved_at BIGINT,
	PRIMARY KEY (batch_id, rrn)
);

-- One deposit per settled batch.
CREATE TABLE deposits (
	id           TEXT COLLATE "C" PRIMARY KEY,
	batch_id     TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES batches (id),
	merchant_id  TEXT COLLATE "C" NOT NULL REFERENCES merchants (id),
	currency     TEXT NOT NULL,
	gross        BIGINT NOT NULL,
	refunds      BIGINT NOT NULL,
	fees         BIGINT NOT NULL,
	net          BIGINT NOT NULL,
	funding_date TEXT NOT NULL,
	status       TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	paid_at      BIGINT
);
CREATE INDEX deposits_merchant ON deposits (merchant_id, id);
CREATE INDEX deposits_pending ON deposits (funding_date) WHERE status = 'pending';

-- The batch each approved transaction went out in (NULL: not yet). The
-- claim of a close finds the unbatched ones of a merchant and currency by
-- the partial indexes.
ALTER TABLE payments ADD COLUMN batch_id TEXT COLLATE "C";
ALTER TABLE refunds ADD COLUMN batch_id TEXT COLLATE "C";
CREATE INDEX payments_unbatched ON payments (merchant_id, currency, captured_at)
	WHERE batch_id IS NULL AND status IN ('captured', 'partially_refunded', 'refunded');
CREATE INDEX payments_batch ON payments (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX refunds_unbatched ON refunds (merchant_id, currency, updated_at) WHERE batch_id IS NULL AND status = 'succeeded';
CREATE INDEX refunds_batch ON refunds (batch_id) WHERE batch_id IS NOT NULL;
