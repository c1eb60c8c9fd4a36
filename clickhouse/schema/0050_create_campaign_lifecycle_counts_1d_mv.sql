-- The daily side of 0049: campaign lifecycle events in the daily campaign rollup.
CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_lifecycle_counts_1d_mv TO campaign_message_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    campaign_id,
    '' AS channel,
    event_type,
    count() AS events
FROM analytics_events
WHERE entity_type = 'campaign' AND event_type IN ('campaign_started', 'campaign_completed')
GROUP BY tenant_id, day, campaign_id, event_type
