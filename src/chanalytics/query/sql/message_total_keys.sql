-- Distinct opened / clicked messages per channel and over the whole range, for answers
-- without a distinct series (overview; message_keys.sql adds the series). Keys are the
-- 128-bit hash of the message id, computed on the raw side the same way the rollup's
-- view does.
SELECT
    -- the grouping_set codes and columns of message_keys.sql: 1 = per channel, 3 = overall
    grouping(channel) * 2 + 1 AS grouping_set,
    channel,
    0 AS local_bucket,
    metric,
    uniqExact(key) AS messages
FROM
(
    SELECT channel, metric, key
    FROM message_keys_15m
    WHERE tenant_id = {tenant:String}
      AND metric IN ('opened', 'clicked')
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT
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
GROUP BY GROUPING SETS ((channel, metric), (metric))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
