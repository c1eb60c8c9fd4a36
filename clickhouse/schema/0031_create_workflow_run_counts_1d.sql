CREATE TABLE IF NOT EXISTS workflow_run_counts_1d
(
    tenant_id String,
    day Date,
    workflow_id String,
    event_type LowCardinality(String),
    status LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, workflow_id, event_type, status)
SETTINGS non_replicated_deduplication_window = 1000
