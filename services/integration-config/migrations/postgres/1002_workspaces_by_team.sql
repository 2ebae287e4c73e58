-- Finds every org using one Slack team: a bot token pasted into several orgs is revoked with Slack
-- only when none of them keeps it.
CREATE INDEX slack_workspaces_by_team ON slack_workspaces (team_id);
