-- Distinct opened / clicked messages per channel, over the whole range, and per local
-- bucket. Keys are the 128-bit hash of the message id, computed on the raw side the
-- same way the rollup's view computes them.
SELECT
    grouping(channel, local_bucket) AS grouping_set,
    channel,
    __LOCAL_BUCKET__ AS local_bucket,
    metric,
    uniqExact(key) AS messages
FROM
(
    SELECT bucket, channel, metric, key
    FROM message_keys_15m
    WHERE tenant_id = {tenant:String}
      AND metric IN ('opened', 'clicked')
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT
        toStartOfFifteenMinutes(occurred_at) AS bucket,
        channel,
        if(event_type = 'message_opened', 'opened', 'clicked') AS metric,
        reinterpretAsUInt128(sipHash128(entity_id)) AS key
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_opened', 'message_clicked')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((channel, metric), (metric), (local_bucket, metric))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
