-- Outages and ambiguous posts (issue 14). A delivery is tried until its retry window is over
-- (EXPIRED, status 'expired'); the window starts at acceptance and again at an operator's retry.
-- Attempts whose post Slack may have carried out (a 5xx, reset or timeout after sending) are
-- counted: each may have left a copy in Slack.
ALTER TABLE deliveries ADD COLUMN ambiguous_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN window_started_at BIGINT NOT NULL DEFAULT 0;
UPDATE deliveries SET window_started_at = created_at;
