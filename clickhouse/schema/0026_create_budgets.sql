CREATE TABLE IF NOT EXISTS budgets
(
    tenant_id String,
    monthly_budget Decimal(38, 12),
    timezone String,
    deleted Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY tenant_id
