CREATE MATERIALIZED VIEW IF NOT EXISTS tenant_freshness_mv TO tenant_freshness AS
SELECT
    tenant_id,
    max(occurred_at) AS newest_event_at,
    max(ingested_at) AS newest_stored_at
FROM analytics_events
GROUP BY tenant_id
