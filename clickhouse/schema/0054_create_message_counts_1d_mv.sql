CREATE MATERIALIZED VIEW IF NOT EXISTS message_counts_1d_mv TO message_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    channel,
    event_type,
    count() AS events
FROM analytics_events
WHERE entity_type = 'message'
GROUP BY tenant_id, day, channel, event_type
