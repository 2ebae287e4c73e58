-- A message's life after it is published (issue 16): edits, deletes and reads reported by the
-- platform. `revision` is the newest revision of the text known (the published text is 0) and
-- `slack_revision` the one Slack shows; `pending_change` is what Slack still needs of a sent message
-- ('update', 'delete' or ''), due at `change_due_at` and tried `change_attempts` times, with the last
-- refusal in `change_error`. `deleted_at`, `read_at` and `held_until` are 0 when unset.
ALTER TABLE deliveries ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN slack_revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN read_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN held_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN pending_change TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN change_due_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN change_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN change_error TEXT NOT NULL DEFAULT '';

-- Sent messages Slack must still be told about, by due time.
CREATE INDEX deliveries_changes ON deliveries (change_due_at)
    WHERE status = 'sent' AND pending_change <> '';
