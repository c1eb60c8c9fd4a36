CREATE TABLE IF NOT EXISTS distinct_chain_1d
(
    tenant_id String,
    level LowCardinality(String),
    metric LowCardinality(String),
    day Date,
    channel LowCardinality(String),
    campaign_id LowCardinality(String),
    template_id LowCardinality(String),
    prev_day Date,
    keys SimpleAggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, level, metric, day, channel, campaign_id, template_id, prev_day)
SETTINGS non_replicated_deduplication_window = 1000
