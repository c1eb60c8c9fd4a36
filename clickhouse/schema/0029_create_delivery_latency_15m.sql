CREATE TABLE IF NOT EXISTS delivery_latency_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    channel LowCardinality(String),
    provider LowCardinality(String),
    durations SimpleAggregateFunction(sumMap, Map(Int16, UInt64)),
    samples SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, channel, provider)
SETTINGS non_replicated_deduplication_window = 1000
