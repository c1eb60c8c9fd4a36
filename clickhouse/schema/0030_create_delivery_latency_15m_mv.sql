CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_latency_15m_mv TO delivery_latency_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    channel,
    provider,
    sumMap(if(duration_ms IS NULL, CAST(map(), 'Map(Int16, UInt64)'),
              map(if(assumeNotNull(duration_ms) = 0, toInt16(-32768),
                     toInt16(ceil(log(assumeNotNull(duration_ms)) / log(1.0100502512562815)))),
                  toUInt64(1)))) AS durations,
    countIf(duration_ms IS NOT NULL) AS samples
FROM analytics_events
WHERE event_type = 'message_delivered'
GROUP BY tenant_id, bucket, channel, provider
