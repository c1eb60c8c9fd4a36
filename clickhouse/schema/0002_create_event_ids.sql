CREATE TABLE IF NOT EXISTS event_ids
(
    occurred_at DateTime64(3, 'UTC'),
    id String,
    tenant_id String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, id)
TTL toDate(occurred_at) + INTERVAL {raw_ttl_days} DAY
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 1000
