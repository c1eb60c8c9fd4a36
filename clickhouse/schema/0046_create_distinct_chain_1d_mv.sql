CREATE MATERIALIZED VIEW IF NOT EXISTS distinct_chain_1d_mv TO distinct_chain_1d AS
SELECT
    tenant_id, level, metric, toDate(bucket) AS day, channel, campaign_id, template_id,
    toDate(prev_bucket) AS prev_day, keys
FROM distinct_chain_15m
WHERE toDate(prev_bucket) < toDate(bucket)
