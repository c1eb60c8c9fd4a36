CREATE TABLE IF NOT EXISTS entity_names
(
    tenant_id String,
    entity_kind LowCardinality(String),
    entity_id String,
    name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, entity_kind, entity_id)
SETTINGS non_replicated_deduplication_window = 1000
