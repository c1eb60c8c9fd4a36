CREATE TABLE IF NOT EXISTS enrollment_states
(
    tenant_id String,
    sequence_id String,
    enrollment_id String,
    enrolled_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    ended_at SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, sequence_id, enrollment_id)
SETTINGS non_replicated_deduplication_window = 1000
