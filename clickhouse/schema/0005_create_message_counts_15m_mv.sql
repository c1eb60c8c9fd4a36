CREATE MATERIALIZED VIEW IF NOT EXISTS message_counts_15m_mv TO message_counts_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    channel,
    event_type,
    count() AS events,
    sum(ifNull(cost, 0)) AS cost
FROM analytics_events
WHERE entity_type = 'message'
GROUP BY tenant_id, bucket, channel, event_type
