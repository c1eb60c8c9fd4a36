INSERT INTO campaign_message_series_15m
SELECT tenant_id, bucket, channel, event_type, sum(events) AS events
FROM campaign_message_counts_15m
GROUP BY tenant_id, bucket, channel, event_type
ORDER BY tenant_id, event_type, bucket, channel
SETTINGS insert_deduplication_token = 'migration-0030'
