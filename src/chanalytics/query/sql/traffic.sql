-- Messages sent per local hour of day, per local day of week (1 = Monday) and per local
-- bucket. A 15-minute UTC bucket never straddles a local hour in any zone, so grouping
-- buckets by their local hour and weekday is exact.
SELECT
    grouping(hour, weekday, local_bucket) AS grouping_set,
    toHour(bucket, {tz:String}) AS hour,
    toDayOfWeek(bucket, 0, {tz:String}) AS weekday,
    __LOCAL_BUCKET__ AS local_bucket,
    sum(events) AS messages
FROM
(
    SELECT bucket, events
    FROM message_counts_15m
    WHERE tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND event_type = 'message_sent'
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT toStartOfFifteenMinutes(occurred_at) AS bucket, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type = 'message_sent'
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND entity_type = 'message'
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((hour), (weekday), (local_bucket))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
