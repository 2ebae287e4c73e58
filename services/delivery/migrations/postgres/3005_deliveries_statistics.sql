-- The planner's view of the outbox (issue 14). By default PostgreSQL re-analyses a table after 10 %
-- of its rows changed: on a table of months of sent messages a burst of tens of thousands of pending
-- rows goes unseen, and plans made for "almost nothing pending" then scan every pending row. The
-- statements no longer depend on it for their shape (see OutboxBackend in store/sql.rs); fresh
-- statistics keep their index choices right as well. Analyse after every 1,000 changed rows, and
-- vacuum (which also keeps the visibility map, so index-only scans stay index-only) after 2 %.
ALTER TABLE deliveries SET (
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 1000,
    autovacuum_vacuum_scale_factor = 0.02
);
