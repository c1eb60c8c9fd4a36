-- Messages sent and delivered per template with any message event, one row each: whole
-- UTC days of the window from the daily rollup, the rest of its 15-minute interior from
-- the 15-minute one, the unaligned edges from the raw table (templates show no time
-- series, so days need not be local).
SELECT
    template_id,
    sumIf(events, event_type = 'message_sent') AS sent,
    sumIf(events, event_type = 'message_delivered') AS delivered
FROM
(
    SELECT template_id, event_type, events
    FROM template_message_counts_1d
    WHERE tenant_id = {tenant:String}
      AND day >= {first_day:Date} AND day < {end_day:Date}
      AND ({template_id:String} = '' OR template_id = {template_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <partial-days> (left out when the interior is whole UTC days)
    UNION ALL
    SELECT template_id, event_type, events
    FROM template_message_counts_15m
    WHERE tenant_id = {tenant:String}
      AND ((bucket >= {mid_start:DateTime('UTC')} AND bucket < {day_start:DateTime('UTC')})
        OR (bucket >= {day_end:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}))
      AND ({template_id:String} = '' OR template_id = {template_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </partial-days>
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT template_id, event_type, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_sent', 'message_delivered', 'message_opened', 'message_clicked',
                         'message_bounced', 'message_complained', 'message_unsubscribed',
                         'message_failed')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND entity_type = 'message'
      AND template_id != ''
      AND ({template_id:String} = '' OR template_id = {template_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
GROUP BY template_id
