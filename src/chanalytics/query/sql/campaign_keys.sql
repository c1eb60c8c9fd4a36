-- Distinct opened / clicked campaign messages per campaign and per local bucket.
-- (Distinct recipients are counted apart, in campaign_recipients.sql: only their total is
-- shown, and they are the largest key set.)
SELECT
    grouping(campaign_id, local_bucket) AS grouping_set,
    campaign_id,
    __LOCAL_BUCKET__ AS local_bucket,
    metric,
    uniqExact(key) AS keys
FROM
(
    SELECT bucket, campaign_id, metric, key
    FROM message_keys_15m
    WHERE tenant_id = {tenant:String}
      AND metric IN ('opened', 'clicked')
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND campaign_id != ''
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT
        toStartOfFifteenMinutes(occurred_at) AS bucket,
        campaign_id,
        if(event_type = 'message_opened', 'opened', 'clicked') AS metric,
        reinterpretAsUInt128(sipHash128(entity_id)) AS key
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_opened', 'message_clicked')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND campaign_id != ''
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((campaign_id, metric), (local_bucket, metric))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
