CREATE TABLE IF NOT EXISTS alert_rules
(
    tenant_id String,
    rule_id String,
    rule String,
    deleted Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (tenant_id, rule_id)
