CREATE TABLE IF NOT EXISTS distinct_chain_15m
(
    tenant_id String,
    level LowCardinality(String),
    bucket DateTime('UTC'),
    metric LowCardinality(String),
    channel LowCardinality(String),
    campaign_id LowCardinality(String),
    template_id LowCardinality(String),
    prev_bucket DateTime('UTC'),
    keys SimpleAggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, level, metric, bucket, channel, campaign_id, template_id, prev_bucket)
SETTINGS non_replicated_deduplication_window = 1000
