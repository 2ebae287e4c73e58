-- Each person keeps only their newest few pending Connect flows; this finds them without a scan.
CREATE INDEX slack_connect_states_person ON slack_connect_states (org_id, user_id, created_at);
