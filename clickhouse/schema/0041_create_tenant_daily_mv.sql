CREATE MATERIALIZED VIEW IF NOT EXISTS tenant_daily_mv TO tenant_daily AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    count() AS events,
    countIf(event_type = 'message_sent') AS sent,
    countIf(event_type = 'message_delivered') AS delivered,
    countIf(event_type = 'message_opened') AS opened,
    countIf(event_type = 'message_clicked') AS clicked,
    countIf(event_type = 'message_bounced') AS bounced,
    countIf(event_type = 'message_unsubscribed') AS unsubscribed,
    max(ingested_at) AS last_stored_at
FROM analytics_events
WHERE entity_type = 'message'
GROUP BY tenant_id, day
