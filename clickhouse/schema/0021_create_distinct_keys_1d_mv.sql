CREATE MATERIALIZED VIEW IF NOT EXISTS distinct_keys_1d_mv TO distinct_keys_1d AS
SELECT
    tenant_id,
    toDate(occurred_at) AS day,
    pair.1 AS kind,
    event_type,
    channel,
    campaign_id,
    template_id,
    sequence_id,
    step_number,
    machine_open,
    sipHash64(pair.2) AS key
FROM analytics_events
ARRAY JOIN arrayConcat(
    if(event_type IN ('message_opened', 'message_clicked'), [('message', entity_id)], []),
    if(event_type IN ('message_sent', 'message_opened', 'message_clicked') AND contact_id != '',
       [('contact', contact_id)], []),
    if(event_type = 'sequence_enrollment_replied', [('enrollment', entity_id)], [])
) AS pair
WHERE event_type IN ('message_sent', 'message_opened', 'message_clicked',
                     'sequence_enrollment_replied')
