INSERT INTO distinct_chain_1d
SELECT
    tenant_id, level, metric, toDate(bucket) AS day, channel, campaign_id, template_id,
    toDate(prev_bucket) AS prev_day, sum(keys) AS keys
FROM distinct_chain_15m
WHERE toDate(prev_bucket) < toDate(bucket)
GROUP BY tenant_id, level, metric, day, channel, campaign_id, template_id, prev_day
SETTINGS insert_deduplication_token = 'migration-0047'
