CREATE TABLE IF NOT EXISTS campaign_message_counts_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    channel LowCardinality(String),
    event_type LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    cost SimpleAggregateFunction(sum, Decimal(38, 12)),
    costed SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, channel, event_type)
SETTINGS non_replicated_deduplication_window = 1000
