-- The durable outbox of direct messages (SPEC 2.3): one row per (org, message id), claimed by the
-- delivery workers with a lease. Times are milliseconds since the Unix epoch.
CREATE TABLE deliveries (
    delivery_id       TEXT PRIMARY KEY NOT NULL,
    org_id            TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    space_id          TEXT NOT NULL,
    space_name        TEXT NOT NULL,
    sender_user_id    TEXT NOT NULL,
    sender_name       TEXT NOT NULL,
    sender_role       TEXT NOT NULL,
    recipient_user_id TEXT NOT NULL,
    text              TEXT NOT NULL,
    link_url          TEXT NOT NULL,
    sent_at           BIGINT NOT NULL,
    status            TEXT NOT NULL,
    mode              TEXT NOT NULL DEFAULT '',
    attempts          BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT NOT NULL DEFAULT '',
    skip_reason       TEXT NOT NULL DEFAULT '',
    slack_channel_id  TEXT NOT NULL DEFAULT '',
    slack_ts          TEXT NOT NULL DEFAULT '',
    next_attempt_at   BIGINT NOT NULL,
    lease_owner       TEXT,
    lease_until       BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    accepted_trace    TEXT NOT NULL DEFAULT '',
    UNIQUE (org_id, message_id)
);

-- What the workers claim: pending rows by due time.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
-- The head of each recipient's queue (messages to one person go out in order).
CREATE INDEX deliveries_conversation ON deliveries (org_id, recipient_user_id, sent_at, delivery_id)
    WHERE status = 'pending';
-- ListDeliveries, newest first (delivery ids are UUIDv7, ordered by creation).
CREATE INDEX deliveries_org ON deliveries (org_id, delivery_id);
CREATE INDEX deliveries_org_status ON deliveries (org_id, status, delivery_id);
