CREATE TABLE IF NOT EXISTS entity_message_counts_1d
(
    tenant_id String,
    day Date,
    campaign_id String,
    template_id String,
    channel LowCardinality(String),
    event_type LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    cost SimpleAggregateFunction(sum, Decimal(38, 12)),
    costed SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, campaign_id, template_id, channel, event_type)
SETTINGS non_replicated_deduplication_window = 1000
