-- A person's Slack preferences in an organization (org-wide, like the link; issue 16): how long a
-- direct message waits for them to read it in ovice before it is forwarded (0: not at all).
CREATE TABLE slack_preferences (
    org_id            TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    hold_unread_secs  BIGINT NOT NULL DEFAULT 0,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
