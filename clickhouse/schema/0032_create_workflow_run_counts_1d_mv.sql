CREATE MATERIALIZED VIEW IF NOT EXISTS workflow_run_counts_1d_mv TO workflow_run_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    workflow_id,
    event_type,
    status,
    count() AS events
FROM analytics_events
WHERE entity_type = 'workflow'
GROUP BY tenant_id, day, workflow_id, event_type, status
