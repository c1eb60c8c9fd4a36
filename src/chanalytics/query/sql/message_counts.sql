-- Message event counts per channel and per local bucket, one row each: every message
-- event (`message_events`), and the events of each counted type (opens and clicks are
-- counted as distinct messages elsewhere). One row per bucket, not per (bucket, event
-- type): fewer rows to build and read back (a 30-day hour series: 724, not 5,723).
-- Whole 15-minute buckets inside the range come from the rollup; the unaligned head
-- and tail slices of the range come from the raw table.
SELECT
    grouping(channel, local_bucket) AS grouping_set,
    channel,
    __LOCAL_BUCKET__ AS local_bucket,
    sum(events) AS message_events,
    sumIf(events, event_type = 'message_sent') AS sent,
    sumIf(events, event_type = 'message_delivered') AS delivered,
    sumIf(events, event_type = 'message_bounced') AS bounced,
    sumIf(events, event_type = 'message_complained') AS complained,
    sumIf(events, event_type = 'message_unsubscribed') AS unsubscribed,
    sumIf(events, event_type = 'message_failed') AS failed
FROM
(
    SELECT bucket, channel, event_type, events
    FROM message_counts_15m
    WHERE tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT toStartOfFifteenMinutes(occurred_at) AS bucket, channel, event_type, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_sent', 'message_delivered', 'message_opened', 'message_clicked',
                         'message_bounced', 'message_complained', 'message_unsubscribed',
                         'message_failed')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND entity_type = 'message'
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((channel), (local_bucket))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
