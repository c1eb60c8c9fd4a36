CREATE TABLE IF NOT EXISTS report_runs
(
    tenant_id String,
    report_id String,
    run_id String,
    scheduled Bool,
    scheduled_for DateTime64(3, 'UTC'),
    started_at DateTime64(3, 'UTC'),
    finished_at Nullable(DateTime64(3, 'UTC')),
    status LowCardinality(String),
    rows UInt64,
    bytes UInt64,
    file_id String,
    error String,
    deliveries String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, report_id, run_id)
