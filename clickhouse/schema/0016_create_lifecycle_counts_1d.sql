CREATE TABLE IF NOT EXISTS lifecycle_counts_1d
(
    tenant_id String,
    day Date,
    event_type LowCardinality(String),
    campaign_id String,
    workflow_id String,
    sequence_id String,
    status LowCardinality(String),
    step_number UInt32,
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, event_type, campaign_id, workflow_id, sequence_id, status, step_number)
SETTINGS non_replicated_deduplication_window = 1000
