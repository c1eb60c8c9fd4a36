CREATE MATERIALIZED VIEW IF NOT EXISTS contact_hourly_mv TO contact_hourly AS
SELECT
    tenant_id,
    contact_id,
    toStartOfHour(occurred_at) AS hour,
    ingested_at AS stored_at,
    count() AS events,
    countIf(event_type = 'message_sent') AS sent,
    countIf(event_type = 'message_delivered') AS delivered,
    countIf(event_type = 'message_opened') AS opened,
    countIf(event_type = 'message_clicked') AS clicked,
    countIf(event_type = 'message_bounced') AS bounced,
    countIf(event_type = 'message_complained') AS complained,
    countIf(event_type = 'message_unsubscribed') AS unsubscribed,
    countIf(event_type = 'sequence_enrollment_replied') AS replied,
    countIf(event_type = 'workflow_run_goal_reached') AS goals_reached,
    max(occurred_at) AS last_event_at
FROM analytics_events
WHERE contact_id != ''
GROUP BY tenant_id, contact_id, hour, stored_at
