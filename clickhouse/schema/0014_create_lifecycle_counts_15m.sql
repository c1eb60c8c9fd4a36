CREATE TABLE IF NOT EXISTS lifecycle_counts_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    event_type LowCardinality(String),
    status LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, event_type, status)
SETTINGS non_replicated_deduplication_window = 1000
