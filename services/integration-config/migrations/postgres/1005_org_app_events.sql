-- The signing secret of the org's own Slack app, when the owner set its Request URL to
-- /slack/events/orgs/<org id>: ovice-slack then hears that app's uninstall and revocations. Sealed
-- like the token; empty when not given.
ALTER TABLE slack_workspaces ADD COLUMN signing_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_workspaces ADD COLUMN signing_ciphertext BYTEA NOT NULL DEFAULT ''::bytea;
