INSERT INTO message_counts_1d
SELECT tenant_id, toDate(bucket) AS day, channel, event_type, sum(events) AS events
FROM message_counts_15m
GROUP BY tenant_id, day, channel, event_type
ORDER BY tenant_id, day, channel, event_type
SETTINGS insert_deduplication_token = 'migration-0055'
