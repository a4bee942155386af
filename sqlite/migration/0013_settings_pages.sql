-- The dashboard's settings pages (issue 12): an API key's name, given when
-- it is created from the dashboard (keys made before it have none); an
-- endpoint's delivery log, newest first; and a key's last use, read from
-- the audit log by actor. The same in sqlite/ and postgres/.
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
CREATE INDEX webhook_deliveries_endpoint_created ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX audit_log_actor ON audit_log (merchant_id, actor_id, id);
