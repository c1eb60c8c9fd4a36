INSERT INTO template_message_counts_1d
SELECT tenant_id, toDate(bucket) AS day, template_id, channel, event_type, sum(events) AS events
FROM template_message_counts_15m
GROUP BY tenant_id, day, template_id, channel, event_type
ORDER BY tenant_id, day, template_id, channel, event_type
SETTINGS insert_deduplication_token = 'migration-0024'
