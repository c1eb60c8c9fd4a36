CREATE TABLE IF NOT EXISTS message_key_buckets
(
    tenant_id String,
    metric LowCardinality(String),
    key UInt128,
    bucket DateTime('UTC'),
    channel LowCardinality(String),
    campaign_id String,
    template_id String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, metric, key, bucket, channel, campaign_id, template_id)
SETTINGS non_replicated_deduplication_window = 1000
