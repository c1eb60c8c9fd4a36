CREATE TABLE IF NOT EXISTS campaign_message_series_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    channel LowCardinality(String),
    event_type LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, event_type, bucket, channel)
SETTINGS non_replicated_deduplication_window = 1000
