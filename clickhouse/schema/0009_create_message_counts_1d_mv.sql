CREATE MATERIALIZED VIEW IF NOT EXISTS message_counts_1d_mv TO message_counts_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    channel,
    provider,
    event_type,
    bounce_type,
    error_code,
    count() AS events,
    sum(ifNull(analytics_events.cost, 0)) AS cost,
    countIf(analytics_events.cost IS NOT NULL) AS costed,
    sum(ifNull(duration_ms, 0)) AS duration_sum,
    countIf(duration_ms IS NOT NULL) AS samples
FROM analytics_events
WHERE entity_type = 'message'
GROUP BY tenant_id, day, channel, provider, event_type, bounce_type, error_code
