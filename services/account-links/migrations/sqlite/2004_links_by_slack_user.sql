-- Finds every link to one Slack user across orgs: before a dropped user token is revoked with Slack,
-- no other link may still hold it (Slack gives a user the same token again).
CREATE INDEX slack_links_by_slack_user ON slack_links (slack_team_id, slack_user_id);
