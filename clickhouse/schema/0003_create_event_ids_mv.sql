CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv TO event_ids AS
SELECT occurred_at, id, tenant_id
FROM analytics_events
