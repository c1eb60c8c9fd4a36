CREATE TABLE IF NOT EXISTS distinct_keys_1d
(
    tenant_id String,
    day Date,
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
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, kind, event_type, day, channel, campaign_id, template_id, sequence_id,
          step_number, machine_open, key)
SETTINGS non_replicated_deduplication_window = 1000
