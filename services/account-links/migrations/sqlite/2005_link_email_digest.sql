-- What a link remembers of the ovice account's email it was matched by: a SHA-256 digest, so that a
-- `user_change` from Slack can tell that the Slack account's email no longer matches. Empty for links
-- made before this column (their change is not detectable until they connect again).
ALTER TABLE slack_links ADD COLUMN email_digest TEXT NOT NULL DEFAULT '';
