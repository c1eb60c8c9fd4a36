INSERT INTO message_key_buckets
SELECT tenant_id, metric, key, bucket, channel, campaign_id, template_id
FROM message_keys_15m
SETTINGS insert_deduplication_token = 'migration-0039'
