-- The same as sqlite/migration/0003_merchant_rate_limit.sql: each merchant's
-- API keys may have their own rate limit, requests per second in bursts of
-- twice it; 0 keeps the server's default.
ALTER TABLE merchants ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 0;
