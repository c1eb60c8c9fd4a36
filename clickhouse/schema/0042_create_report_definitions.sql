CREATE TABLE IF NOT EXISTS report_definitions
(
    tenant_id String,
    report_id String,
    definition String,
    created_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC'),
    deleted Bool
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (tenant_id, report_id)
