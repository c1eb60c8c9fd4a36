CREATE MATERIALIZED VIEW IF NOT EXISTS entity_message_counts_1d_mv TO entity_message_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    campaign_id,
    template_id,
    channel,
    event_type,
    count() AS events,
    sum(ifNull(analytics_events.cost, 0)) AS cost,
    countIf(analytics_events.cost IS NOT NULL) AS costed
FROM analytics_events
WHERE entity_type = 'message'
GROUP BY tenant_id, day, campaign_id, template_id, channel, event_type
