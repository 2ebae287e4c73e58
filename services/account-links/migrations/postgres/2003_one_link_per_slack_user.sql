-- One Slack account is linked to at most one ovice account of an org: otherwise a second ovice
-- account with the same email would get the first one's user token and post as them. Duplicates can
-- only predate this rule; the link made first is kept and the later ones are removed (those people
-- see "not connected" and, if the Slack account is theirs, an owner sorts out the ovice accounts).
DELETE FROM slack_links
WHERE EXISTS (
    SELECT 1 FROM slack_links AS earlier
    WHERE earlier.org_id = slack_links.org_id
      AND earlier.slack_team_id = slack_links.slack_team_id
      AND earlier.slack_user_id = slack_links.slack_user_id
      AND (earlier.connected_at < slack_links.connected_at
           OR (earlier.connected_at = slack_links.connected_at AND earlier.user_id < slack_links.user_id))
);

CREATE UNIQUE INDEX slack_links_one_per_slack_user ON slack_links (org_id, slack_team_id, slack_user_id);
