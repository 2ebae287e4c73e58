-- Issue 17: a person pauses forwarding (until turned off, or until `paused_until`), keeps quiet
-- hours in their time zone, and chooses the language of their Slack messages. `automatic_language`
-- is not chosen: it is the language of the person's ovice when they last began Connect.
-- Empty text and 0 mean "not set".
ALTER TABLE slack_preferences ADD COLUMN paused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slack_preferences ADD COLUMN paused_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slack_preferences ADD COLUMN quiet_start TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_preferences ADD COLUMN quiet_end TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_preferences ADD COLUMN quiet_time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_preferences ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_preferences ADD COLUMN automatic_language TEXT NOT NULL DEFAULT '';

-- The language of the person's ovice when they began Connect: the result page answers in it.
ALTER TABLE slack_connect_states ADD COLUMN language TEXT NOT NULL DEFAULT '';
