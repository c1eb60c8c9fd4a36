CREATE TABLE IF NOT EXISTS template_message_counts_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    template_id String,
    channel LowCardinality(String),
    event_type LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, template_id, channel, event_type)
SETTINGS non_replicated_deduplication_window = 1000
