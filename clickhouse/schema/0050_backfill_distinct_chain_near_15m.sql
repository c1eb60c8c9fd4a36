INSERT INTO distinct_chain_near_15m
SELECT
    tenant_id, level, metric, bucket, channel, campaign_id, template_id,
    if(prev_bucket >= bucket - INTERVAL 45 MINUTE, prev_bucket, toDateTime(0, 'UTC'))
        AS near_prev_bucket,
    sum(keys) AS keys
FROM distinct_chain_15m
GROUP BY tenant_id, level, metric, bucket, channel, campaign_id, template_id, near_prev_bucket
SETTINGS insert_deduplication_token = 'migration-0050'
