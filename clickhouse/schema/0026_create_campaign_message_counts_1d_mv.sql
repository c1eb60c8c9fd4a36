CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_message_counts_1d_mv TO campaign_message_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    campaign_id,
    channel,
    event_type,
    count() AS events
FROM analytics_events
WHERE entity_type = 'message' AND campaign_id != ''
GROUP BY tenant_id, day, campaign_id, channel, event_type
