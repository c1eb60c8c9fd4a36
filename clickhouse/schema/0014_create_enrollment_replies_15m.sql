CREATE TABLE IF NOT EXISTS enrollment_replies_15m
(
    tenant_id String,
    bucket DateTime('UTC'),
    sequence_id String,
    step_number UInt32,
    key UInt128
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, sequence_id, step_number, key)
SETTINGS non_replicated_deduplication_window = 1000
