CREATE TABLE IF NOT EXISTS distinct_keys_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    kind LowCardinality(String),
    event_type LowCardinality(String),
    channel LowCardinality(String),
    campaign_id String,
    template_id String,
    sequence_id String,
    step_number UInt32,
    machine_open Bool,
    key UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, kind, event_type, bucket, channel, campaign_id, template_id, sequence_id,
          step_number, machine_open, key)
SETTINGS non_replicated_deduplication_window = 1000
