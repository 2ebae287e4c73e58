-- Events Slack posted to an Events endpoint, stored before Slack is answered and acted on after.
-- The key is Slack's event id per receiving endpoint (the Connect app's, or an org's own app's): a
-- retried delivery of the same event finds its row and is not stored (or acted on) again. Rows stay a day after they are done, for that check.
-- What an event says is kept as our own JSON, emails only as digests.
CREATE TABLE slack_events (
    receiver        TEXT NOT NULL,
    org_id          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    team_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    event           TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- NULL once done; otherwise when a worker may next take it (a claim pushes it forward: the lease).
    next_attempt_at INTEGER,
    done_at         INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (receiver, org_id, event_id)
);

CREATE INDEX slack_events_due ON slack_events (receiver, next_attempt_at);
CREATE INDEX slack_events_done ON slack_events (done_at);
