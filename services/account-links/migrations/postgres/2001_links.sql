-- A person's Slack link in an organization; the user token only as AES-256-GCM ciphertext.
CREATE TABLE slack_links (
    org_id           TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    slack_team_id    TEXT NOT NULL,
    slack_user_id    TEXT NOT NULL,
    slack_user_name  TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    token_key_id     TEXT NOT NULL,
    token_ciphertext BYTEA NOT NULL,
    state            TEXT NOT NULL,
    state_reason     TEXT NOT NULL DEFAULT '',
    connected_at     BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

-- Pending Connect flows. Only a SHA-256 of the state is kept, so a database reader cannot complete
-- someone else's flow; the PKCE verifier is sealed like a token.
CREATE TABLE slack_connect_states (
    state_hash          TEXT PRIMARY KEY NOT NULL,
    org_id              TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    email               TEXT NOT NULL,
    space_id            TEXT NOT NULL,
    team_id             TEXT NOT NULL,
    verifier_key_id     TEXT NOT NULL,
    verifier_ciphertext BYTEA NOT NULL,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    used_at             BIGINT
);

CREATE INDEX slack_connect_states_expiry ON slack_connect_states (expires_at);
