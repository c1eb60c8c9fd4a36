CREATE TABLE IF NOT EXISTS contact_hourly
(
    tenant_id String,
    contact_id String,
    hour DateTime('UTC'),
    stored_at DateTime64(3, 'UTC'),
    events SimpleAggregateFunction(sum, UInt64),
    sent SimpleAggregateFunction(sum, UInt64),
    delivered SimpleAggregateFunction(sum, UInt64),
    opened SimpleAggregateFunction(sum, UInt64),
    clicked SimpleAggregateFunction(sum, UInt64),
    bounced SimpleAggregateFunction(sum, UInt64),
    complained SimpleAggregateFunction(sum, UInt64),
    unsubscribed SimpleAggregateFunction(sum, UInt64),
    replied SimpleAggregateFunction(sum, UInt64),
    goals_reached SimpleAggregateFunction(sum, UInt64),
    last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    INDEX idx_stored_at stored_at TYPE minmax GRANULARITY 1
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, contact_id, hour, stored_at)
SETTINGS non_replicated_deduplication_window = 1000
