CREATE TABLE IF NOT EXISTS message_keys_15m
(
    tenant_id String,
    metric LowCardinality(String),
    bucket DateTime('UTC'),
    channel LowCardinality(String),
    campaign_id String,
    template_id String,
    key UInt128
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, metric, bucket, channel, campaign_id, template_id, key)
SETTINGS non_replicated_deduplication_window = 1000
