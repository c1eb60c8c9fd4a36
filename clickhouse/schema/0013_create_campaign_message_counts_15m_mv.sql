CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_message_counts_15m_mv TO campaign_message_counts_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    channel,
    event_type,
    count() AS events,
    sum(ifNull(analytics_events.cost, 0)) AS cost,
    countIf(analytics_events.cost IS NOT NULL) AS costed
FROM analytics_events
WHERE entity_type = 'message' AND campaign_id != ''
GROUP BY tenant_id, bucket, channel, event_type
