-- Token rotation of the Connect app: a user token that expires (`xoxe.xoxp-…`) is renewed with its
-- sealed refresh token. An empty refresh_key_id means the token does not rotate. refresh_at is when it
-- is renewed ahead of token_expires_at; a replica renews it only while it holds refresh_lease_until.
ALTER TABLE slack_links ADD COLUMN refresh_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_links ADD COLUMN refresh_ciphertext BYTEA NOT NULL DEFAULT ''::bytea;
ALTER TABLE slack_links ADD COLUMN token_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slack_links ADD COLUMN refresh_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slack_links ADD COLUMN refresh_lease_until BIGINT NOT NULL DEFAULT 0;

CREATE INDEX slack_links_refresh_due ON slack_links (refresh_at) WHERE refresh_key_id <> '';
