CREATE TABLE IF NOT EXISTS rollup_checks
(
    checked_at DateTime64(3, 'UTC'),
    checker String,
    tables UInt16,
    drifting UInt32,
    drifting_tables Array(String),
    findings String
)
ENGINE = MergeTree
ORDER BY checked_at
TTL toDateTime(checked_at) + INTERVAL 30 DAY
