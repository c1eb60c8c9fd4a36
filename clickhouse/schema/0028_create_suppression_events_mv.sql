CREATE MATERIALIZED VIEW IF NOT EXISTS suppression_events_mv TO suppression_events AS
SELECT
    tenant_id,
    contact_id,
    channel,
    occurred_at,
    id,
    multiIf(event_type = 'message_bounced', 'hard_bounce',
            event_type = 'message_complained', 'complaint', 'unsubscribe') AS reason,
    entity_id AS message_id,
    ingested_at
FROM analytics_events
WHERE contact_id != ''
    AND ((event_type = 'message_bounced' AND bounce_type = 'hard')
         OR event_type IN ('message_complained', 'message_unsubscribed'))
