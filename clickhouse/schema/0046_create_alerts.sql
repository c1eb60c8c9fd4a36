CREATE TABLE IF NOT EXISTS alerts
(
    tenant_id String,
    alert_id String,
    kind LowCardinality(String),
    rule_id String,
    condition String,
    state LowCardinality(String),
    started_at DateTime64(3, 'UTC'),
    resolved_at Nullable(DateTime64(3, 'UTC')),
    announced_at DateTime64(3, 'UTC'),
    announcements UInt32,
    metric String,
    channel String,
    provider String,
    value Nullable(Float64),
    threshold Nullable(Float64),
    message String,
    details String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, alert_id)
