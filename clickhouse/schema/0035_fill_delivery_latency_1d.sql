INSERT INTO delivery_latency_1d
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    channel,
    provider,
    quantileDDState(0.005, 0.5)(assumeNotNull(duration_ms)) AS durations,
    count() AS samples
FROM analytics_events
WHERE event_type = 'message_delivered' AND duration_ms IS NOT NULL
GROUP BY tenant_id, day, channel, provider
