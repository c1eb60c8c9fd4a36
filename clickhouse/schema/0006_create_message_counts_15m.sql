CREATE TABLE IF NOT EXISTS message_counts_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    channel LowCardinality(String),
    provider LowCardinality(String),
    event_type LowCardinality(String),
    bounce_type LowCardinality(String),
    error_code LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    cost SimpleAggregateFunction(sum, Decimal(38, 12)),
    costed SimpleAggregateFunction(sum, UInt64),
    duration_sum SimpleAggregateFunction(sum, UInt64),
    samples SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, channel, provider, event_type, bounce_type, error_code)
SETTINGS non_replicated_deduplication_window = 1000
