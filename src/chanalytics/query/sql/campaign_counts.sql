-- Campaign message and lifecycle counts per campaign over the range, and campaign
-- messages sent / delivered per local bucket: one row each, a column per count.
-- `channel` filters campaign messages only (lifecycle rows have no channel).
--
-- Totals: whole UTC days from the daily rollup, the rest of the 15-minute interior from
-- the 15-minute one (both hold the lifecycle events too: migrations 0049-0052), the unaligned
-- edges from the raw table.
SELECT
    1 AS grouping_set,  -- grouping(campaign_id, local_bucket): the bucket aggregated away
    campaign_id,
    0 AS local_bucket,
    sumIf(events, event_type NOT IN ('campaign_started', 'campaign_completed')) AS message_events,
    sumIf(events, event_type = 'message_sent') AS sent,
    sumIf(events, event_type = 'message_delivered') AS delivered,
    sumIf(events, event_type = 'campaign_started') AS started,
    sumIf(events, event_type = 'campaign_completed') AS completed
FROM
(
    SELECT campaign_id, event_type, events
    FROM campaign_message_counts_1d
    WHERE tenant_id = {tenant:String}
      AND day >= {first_day:Date} AND day < {end_day:Date}
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String}
           OR event_type IN ('campaign_started', 'campaign_completed'))
    -- <partial-days> (left out when the interior is whole UTC days)
    UNION ALL
    SELECT campaign_id, event_type, events
    FROM campaign_message_counts_15m
    WHERE tenant_id = {tenant:String}
      AND ((bucket >= {mid_start:DateTime('UTC')} AND bucket < {day_start:DateTime('UTC')})
        OR (bucket >= {day_end:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}))
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String}
           OR event_type IN ('campaign_started', 'campaign_completed'))
    -- </partial-days>
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT campaign_id, event_type, toUInt64(1) AS events
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
GROUP BY campaign_id

UNION ALL

-- The series: every campaign's messages from the rollup without campaign ids, or one
-- campaign's from the per-campaign rollup when `campaign_id` is given.
SELECT
    2 AS grouping_set,  -- grouping(campaign_id, local_bucket): the campaign aggregated away
    '' AS campaign_id,
    __LOCAL_BUCKET__ AS local_bucket,
    sum(events) AS message_events,
    sumIf(events, event_type = 'message_sent') AS sent,
    sumIf(events, event_type = 'message_delivered') AS delivered,
    0 AS started,
    0 AS completed
FROM
(
    SELECT bucket, event_type, events
    FROM campaign_message_series_15m
    WHERE {campaign_id:String} = ''
      AND tenant_id = {tenant:String}
      AND event_type IN ('message_sent', 'message_delivered')
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <one-campaign> (left out without a campaign filter)
    UNION ALL
    SELECT bucket, event_type, events
    FROM campaign_message_counts_15m
    WHERE {campaign_id:String} != ''
      AND tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND campaign_id = {campaign_id:String}
      AND event_type IN ('message_sent', 'message_delivered')
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </one-campaign>
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT toStartOfFifteenMinutes(occurred_at) AS bucket, event_type, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_sent', 'message_delivered')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND entity_type = 'message'
      AND campaign_id != ''
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
GROUP BY local_bucket
