CREATE TABLE IF NOT EXISTS event_ids
(
    id String,
    tenant_id String,
    occurred_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY id
TTL toDate(occurred_at) + INTERVAL {raw_ttl_days} DAY
SETTINGS index_granularity = 256, non_replicated_deduplication_window = 1000
