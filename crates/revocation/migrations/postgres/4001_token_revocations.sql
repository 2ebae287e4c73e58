-- Slack tokens the project dropped and still has to revoke with Slack (auth.revoke). The token is
-- sealed like every stored token, with its own context; a row is deleted once Slack has it revoked
-- (or refuses it already), or after the last attempt.
CREATE TABLE slack_token_revocations (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL,
    org_id           TEXT NOT NULL,
    reason           TEXT NOT NULL,
    token_key_id     TEXT NOT NULL,
    token_ciphertext BYTEA NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL
);

CREATE INDEX slack_token_revocations_due ON slack_token_revocations (kind, next_attempt_at);
