CREATE TABLE IF NOT EXISTS api_requests
(
    tenant_id String,
    at DateTime64(3, 'UTC'),
    method LowCardinality(String),
    route LowCardinality(String),
    status UInt16,
    duration_us UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant_id, at)
TTL toDate(at) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 1000
