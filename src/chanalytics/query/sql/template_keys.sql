-- Distinct opened / clicked messages per template over the range.
SELECT template_id, metric, uniqExact(key) AS messages
FROM
(
    SELECT template_id, metric, key
    FROM message_keys_15m
    WHERE tenant_id = {tenant:String}
      AND metric IN ('opened', 'clicked')
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND template_id != ''
      AND ({template_id:String} = '' OR template_id = {template_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT
        template_id,
        if(event_type = 'message_opened', 'opened', 'clicked') AS metric,
        reinterpretAsUInt128(sipHash128(entity_id)) AS key
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_opened', 'message_clicked')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND template_id != ''
      AND ({template_id:String} = '' OR template_id = {template_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
GROUP BY template_id, metric
