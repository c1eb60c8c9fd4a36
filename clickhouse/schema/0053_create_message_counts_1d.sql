-- Message events per UTC day: the counts of a range's whole UTC days, and of a series whose
-- buckets are UTC days (or weeks, months), in about 96 times fewer rows than
-- message_counts_15m (query/message_totals.py says when it is read).
CREATE TABLE IF NOT EXISTS message_counts_1d
(
    tenant_id String,
    day Date,
    channel LowCardinality(String),
    event_type LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, channel, event_type)
SETTINGS non_replicated_deduplication_window = 1000
