-- Campaign lifecycle events (started, completed) go into the campaign message rollups
-- too, under an empty channel: the campaigns statement then reads a campaign's messages
-- and its lifecycle from one table instead of also reading lifecycle_counts_15m (a part
-- of the statement fewer). A channel filter applies to messages only, never to them.
CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_lifecycle_counts_15m_mv TO campaign_message_counts_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    campaign_id,
    '' AS channel,
    event_type,
    count() AS events
FROM analytics_events
WHERE entity_type = 'campaign' AND event_type IN ('campaign_started', 'campaign_completed')
GROUP BY tenant_id, bucket, campaign_id, event_type
