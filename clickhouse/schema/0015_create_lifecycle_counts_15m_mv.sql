CREATE MATERIALIZED VIEW IF NOT EXISTS lifecycle_counts_15m_mv TO lifecycle_counts_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    event_type,
    status,
    count() AS events
FROM analytics_events
WHERE entity_type IN ('campaign', 'workflow', 'sequence')
GROUP BY tenant_id, bucket, event_type, status
