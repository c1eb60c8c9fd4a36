CREATE MATERIALIZED VIEW IF NOT EXISTS template_message_counts_1d_mv TO template_message_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    template_id,
    channel,
    event_type,
    count() AS events
FROM analytics_events
WHERE entity_type = 'message' AND template_id != ''
GROUP BY tenant_id, day, template_id, channel, event_type
