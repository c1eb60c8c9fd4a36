CREATE MATERIALIZED VIEW IF NOT EXISTS distinct_chain_near_15m_mv TO distinct_chain_near_15m AS
SELECT
    tenant_id, level, metric, bucket, channel, campaign_id, template_id,
    if(prev_bucket >= bucket - INTERVAL 45 MINUTE, prev_bucket, toDateTime(0, 'UTC'))
        AS near_prev_bucket,
    keys
FROM distinct_chain_15m
