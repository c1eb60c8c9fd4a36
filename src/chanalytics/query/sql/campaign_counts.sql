-- Campaign message counts and campaign lifecycle counts per (campaign, event type), and
-- per (local bucket, event type). `channel` filters campaign messages only.
SELECT
    grouping(campaign_id, local_bucket) AS grouping_set,
    campaign_id,
    __LOCAL_BUCKET__ AS local_bucket,
    event_type,
    sum(events) AS events
FROM
(
    SELECT bucket, campaign_id, event_type, events
    FROM campaign_message_counts_15m
    WHERE tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    UNION ALL
    SELECT bucket, parent_id AS campaign_id, event_type, events
    FROM lifecycle_counts_15m
    WHERE tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND event_type IN ('campaign_started', 'campaign_completed')
      AND ({campaign_id:String} = '' OR parent_id = {campaign_id:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT toStartOfFifteenMinutes(occurred_at) AS bucket, campaign_id, event_type, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_sent', 'message_delivered', 'message_opened', 'message_clicked',
                         'message_bounced', 'message_complained', 'message_unsubscribed',
                         'message_failed', 'campaign_started', 'campaign_completed')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND campaign_id != ''
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND (entity_type = 'campaign'
           OR (entity_type = 'message' AND ({channel:String} = '' OR channel = {channel:String})))
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((campaign_id, event_type), (local_bucket, event_type))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
