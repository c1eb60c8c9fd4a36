CREATE TABLE IF NOT EXISTS tenant_freshness
(
    tenant_id String,
    newest_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    newest_stored_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id)
SETTINGS non_replicated_deduplication_window = 1000
