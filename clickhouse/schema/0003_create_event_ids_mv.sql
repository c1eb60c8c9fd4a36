CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv TO event_ids AS
SELECT id, tenant_id, occurred_at
FROM analytics_events
