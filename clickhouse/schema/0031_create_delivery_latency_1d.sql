CREATE TABLE IF NOT EXISTS delivery_latency_1d
(
    tenant_id String,
    day Date,
    channel LowCardinality(String),
    provider LowCardinality(String),
    durations SimpleAggregateFunction(sumMap, Map(Int16, UInt64)),
    samples SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, channel, provider)
SETTINGS non_replicated_deduplication_window = 1000
