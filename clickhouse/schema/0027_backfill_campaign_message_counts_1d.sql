INSERT INTO campaign_message_counts_1d
SELECT tenant_id, toDate(bucket) AS day, campaign_id, channel, event_type, sum(events) AS events
FROM campaign_message_counts_15m
GROUP BY tenant_id, day, campaign_id, channel, event_type
ORDER BY tenant_id, day, campaign_id, channel, event_type
SETTINGS insert_deduplication_token = 'migration-0027'
