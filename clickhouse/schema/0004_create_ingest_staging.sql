CREATE TABLE IF NOT EXISTS ingest_staging
(
    batch String,
    staged_at DateTime DEFAULT now(),
    id String,
    tenant_id String,
    event_type LowCardinality(String),
    entity_type LowCardinality(String),
    entity_id String,
    channel LowCardinality(String),
    contact_id String,
    source_type LowCardinality(String),
    source_id String,
    campaign_id String,
    workflow_id String,
    sequence_id String,
    template_id String,
    template_name Nullable(String),
    entity_name Nullable(String),
    provider LowCardinality(String),
    cost Nullable(Decimal(38, 12)),
    duration_ms Nullable(UInt64),
    error_code String,
    bounce_type LowCardinality(String),
    url String,
    step_number UInt32,
    status LowCardinality(String),
    recipient_count Nullable(UInt64),
    contact_source LowCardinality(String),
    user_agent String,
    geo_country LowCardinality(String),
    geo_city String,
    machine_open Bool,
    metadata String CODEC(ZSTD(3)),
    stream_seq UInt64,
    occurred_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY batch
ORDER BY (occurred_at, id)
TTL staged_at + INTERVAL 1 DAY
SETTINGS ttl_only_drop_parts = 1
