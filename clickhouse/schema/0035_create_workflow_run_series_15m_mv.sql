CREATE MATERIALIZED VIEW IF NOT EXISTS workflow_run_series_15m_mv TO workflow_run_series_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    event_type,
    status,
    count() AS events
FROM analytics_events
WHERE entity_type = 'workflow'
GROUP BY tenant_id, bucket, event_type, status
