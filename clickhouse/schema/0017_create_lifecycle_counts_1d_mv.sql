CREATE MATERIALIZED VIEW IF NOT EXISTS lifecycle_counts_1d_mv TO lifecycle_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    event_type,
    campaign_id,
    workflow_id,
    sequence_id,
    status,
    step_number,
    count() AS events
FROM analytics_events
WHERE entity_type IN ('campaign', 'workflow', 'sequence')
GROUP BY tenant_id, day, event_type, campaign_id, workflow_id, sequence_id, status, step_number
