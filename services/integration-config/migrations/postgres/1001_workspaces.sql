-- The org's Slack workspace settings; the bot token only as AES-256-GCM ciphertext with its key id.
CREATE TABLE slack_workspaces (
    org_id           TEXT PRIMARY KEY NOT NULL,
    team_id          TEXT NOT NULL,
    team_name        TEXT NOT NULL,
    workspace_domain TEXT NOT NULL,
    bot_user_id      TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    token_key_id     TEXT NOT NULL,
    token_ciphertext BYTEA NOT NULL,
    status           TEXT NOT NULL,
    status_reason    TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL,
    updated_by       TEXT NOT NULL
);

CREATE TABLE slack_workspace_audit (
    id          BIGSERIAL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);

CREATE INDEX slack_workspace_audit_org ON slack_workspace_audit (org_id, id);
