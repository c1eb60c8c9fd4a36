CREATE TABLE IF NOT EXISTS distinct_chain_near_15m
(
    tenant_id String,
    level LowCardinality(String),
    metric LowCardinality(String),
    bucket DateTime('UTC'),
    channel LowCardinality(String),
    campaign_id LowCardinality(String),
    template_id LowCardinality(String),
    near_prev_bucket DateTime('UTC'),
    keys SimpleAggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, level, metric, bucket, channel, campaign_id, template_id, near_prev_bucket)
SETTINGS non_replicated_deduplication_window = 1000
