-- Distinct contacts sent a campaign message (`totalRecipients`), keyed by the 128-bit
-- hash of the contact id, computed on the raw side the same way the rollup's view does.
SELECT uniqExact(key) AS recipients
FROM
(
    SELECT key
    FROM message_keys_15m
    WHERE tenant_id = {tenant:String}
      AND metric = 'campaign_recipient'
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT reinterpretAsUInt128(sipHash128(contact_id)) AS key
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type = 'message_sent'
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND campaign_id != ''
      AND contact_id != ''
      AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
      AND ({channel:String} = '' OR channel = {channel:String})
    -- </raw-edges>
)
