-- When each account was created, in milliseconds since the Unix epoch: a token issued
-- before it was issued to an earlier holder of the same id and is refused. Accounts
-- created before this column existed count from the epoch.
ALTER TABLE users ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0;
