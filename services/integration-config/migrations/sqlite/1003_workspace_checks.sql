-- The periodic health check of each org's bot token (auth.test). due_at is when the next check may
-- start; a replica takes an org by moving due_at forward only if it still reads the old value, so one
-- replica checks an org at a time. checked_at and problem are what the last check found ('' = fine).
CREATE TABLE slack_workspace_checks (
    org_id     TEXT PRIMARY KEY NOT NULL,
    due_at     INTEGER NOT NULL,
    checked_at INTEGER NOT NULL DEFAULT 0,
    problem    TEXT NOT NULL DEFAULT ''
);

CREATE INDEX slack_workspace_checks_due ON slack_workspace_checks (due_at);
