-- Token rotation of the org's own app: when its bot token expires (`xoxe.xoxb-…`), the sealed refresh
-- token and the app's sealed client secret renew it. An empty refresh_key_id means the token does not
-- rotate. refresh_at is when it is renewed ahead of its expiry (token_expires_at); a replica renews
-- it only while it holds refresh_lease_until, so one refresh is made per expiry.
ALTER TABLE slack_workspaces ADD COLUMN refresh_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_workspaces ADD COLUMN refresh_ciphertext BYTEA NOT NULL DEFAULT ''::bytea;
ALTER TABLE slack_workspaces ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_workspaces ADD COLUMN client_secret_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_workspaces ADD COLUMN client_secret_ciphertext BYTEA NOT NULL DEFAULT ''::bytea;
ALTER TABLE slack_workspaces ADD COLUMN token_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slack_workspaces ADD COLUMN refresh_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slack_workspaces ADD COLUMN refresh_lease_until BIGINT NOT NULL DEFAULT 0;

CREATE INDEX slack_workspaces_refresh_due ON slack_workspaces (refresh_at) WHERE refresh_key_id <> '';
