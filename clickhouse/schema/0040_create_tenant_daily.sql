CREATE TABLE IF NOT EXISTS tenant_daily
(
    tenant_id String,
    day Date,
    events SimpleAggregateFunction(sum, UInt64),
    sent SimpleAggregateFunction(sum, UInt64),
    delivered SimpleAggregateFunction(sum, UInt64),
    opened SimpleAggregateFunction(sum, UInt64),
    clicked SimpleAggregateFunction(sum, UInt64),
    bounced SimpleAggregateFunction(sum, UInt64),
    unsubscribed SimpleAggregateFunction(sum, UInt64),
    last_stored_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    INDEX idx_last_stored_at last_stored_at TYPE minmax GRANULARITY 1
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day)
SETTINGS non_replicated_deduplication_window = 1000
