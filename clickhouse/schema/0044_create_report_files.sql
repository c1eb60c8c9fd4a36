CREATE TABLE IF NOT EXISTS report_files
(
    tenant_id String,
    file_id String,
    chunk UInt32,
    data String CODEC(ZSTD(3)),
    stored_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, file_id, chunk)
TTL stored_at + INTERVAL 30 DAY
