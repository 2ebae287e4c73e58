-- Issue 17. `hold_reason`: why a pending row waits ('unread': the recipient's read hold;
-- 'quiet_hours': their quiet hours), kept after the send so GetDelivery tells why it waited; '' when
-- it never did. `slack_language`: the language the message was posted in ('en', 'ja'), so edits
-- render in it; '' before it was sent. `in_digest`: sent as part of one digest message with others
-- held with it (they share `slack_ts`).
ALTER TABLE deliveries ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN slack_language TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN in_digest BIGINT NOT NULL DEFAULT 0;
