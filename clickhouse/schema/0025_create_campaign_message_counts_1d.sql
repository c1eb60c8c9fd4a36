CREATE TABLE IF NOT EXISTS campaign_message_counts_1d
(
    tenant_id String,
    day Date,
    campaign_id String,
    channel LowCardinality(String),
    event_type LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, campaign_id, channel, event_type)
SETTINGS non_replicated_deduplication_window = 1000
