CREATE TABLE IF NOT EXISTS message_counts_1d
(
    tenant_id String,
    day Date,
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
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, channel, provider, event_type, bounce_type, error_code)
SETTINGS non_replicated_deduplication_window = 1000
