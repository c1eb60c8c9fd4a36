CREATE TABLE IF NOT EXISTS distinct_chain_pending
(
    batch String,
    staged_at DateTime DEFAULT now(),
    tenant_id String,
    level LowCardinality(String),
    bucket DateTime('UTC'),
    metric LowCardinality(String),
    channel LowCardinality(String),
    campaign_id LowCardinality(String),
    template_id LowCardinality(String),
    prev_bucket DateTime('UTC'),
    keys Int64
)
ENGINE = MergeTree
PARTITION BY batch
ORDER BY (tenant_id, level, bucket)
