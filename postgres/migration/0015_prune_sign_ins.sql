-- The sweeper deletes ended dashboard sessions and old sign-in failures
-- (paygate.SignInPruner): found by these indexes, not by reading the
-- tables whole.
CREATE INDEX dash_sessions_last_seen ON dash_sessions (last_seen_at);
CREATE INDEX dash_sessions_created ON dash_sessions (created_at);
CREATE INDEX signin_failures_at ON signin_failures (at);
