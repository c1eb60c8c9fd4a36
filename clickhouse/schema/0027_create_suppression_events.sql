CREATE TABLE IF NOT EXISTS suppression_events
(
    tenant_id String,
    contact_id String,
    channel LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    id String,
    reason LowCardinality(String),
    message_id String,
    ingested_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, contact_id, channel, occurred_at, id)
