-- Pacing shared by the delivery replicas (issue 14): one row per rate-limited lane of Slack calls
-- (chat.postMessage into a conversation, a Tier 3 method of a workspace) holding the lane's
-- theoretical arrival time in milliseconds since the Unix epoch (GCRA). A replica takes a slot by
-- locking the row, so the deployment as a whole keeps to Slack's limits. SQLite, served by one
-- process, keeps its lanes in memory and has no such table.
CREATE TABLE slack_pacing (
    lane TEXT PRIMARY KEY NOT NULL,
    tat  BIGINT NOT NULL
);
