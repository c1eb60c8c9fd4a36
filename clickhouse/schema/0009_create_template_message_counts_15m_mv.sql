CREATE MATERIALIZED VIEW IF NOT EXISTS template_message_counts_15m_mv TO template_message_counts_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    template_id,
    channel,
    event_type,
    count() AS events
FROM analytics_events
WHERE entity_type = 'message' AND template_id != ''
GROUP BY tenant_id, bucket, template_id, channel, event_type
