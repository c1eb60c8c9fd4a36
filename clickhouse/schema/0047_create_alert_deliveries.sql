CREATE TABLE IF NOT EXISTS alert_deliveries
(
    tenant_id String,
    delivery_id String,
    alert_id String,
    rule_id String,
    event LowCardinality(String),
    payload String,
    status LowCardinality(String),
    outcomes String,
    created_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, delivery_id)
