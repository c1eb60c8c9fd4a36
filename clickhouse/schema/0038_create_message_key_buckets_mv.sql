CREATE MATERIALIZED VIEW IF NOT EXISTS message_key_buckets_mv TO message_key_buckets AS
SELECT
    tenant_id,
    multiIf(
        event_type = 'message_opened', 'opened',
        event_type = 'message_clicked', 'clicked',
        'campaign_recipient'
    ) AS metric,
    reinterpretAsUInt128(sipHash128(if(event_type = 'message_sent', contact_id, entity_id))) AS key,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    channel,
    campaign_id,
    template_id
FROM analytics_events
WHERE event_type IN ('message_opened', 'message_clicked')
   OR (event_type = 'message_sent' AND campaign_id != '' AND contact_id != '')
