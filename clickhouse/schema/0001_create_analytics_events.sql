CREATE TABLE IF NOT EXISTS analytics_events
(
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
    occurred_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_channel channel TYPE bloom_filter GRANULARITY 1,
    INDEX idx_entity_id entity_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_campaign_id campaign_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_template_id template_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_contact_id contact_id TYPE bloom_filter GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, occurred_at, id)
TTL toDate(occurred_at) + INTERVAL {raw_ttl_days} DAY
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000
