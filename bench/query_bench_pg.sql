-- The PostgreSQL side of bench/query/pg.py, for running by hand (psql -v tenant=... -v
-- start=... -v end=... -f bench/query_bench_pg.sql). bench/query/pg.py runs the same statements
-- itself: it exports `SELECT id, tenant_id, event_type, entity_id, channel, contact_id,
-- campaign_id, template_id, occurred_at FROM analytics_events WHERE stream_seq < 20000000`
-- from ClickHouse as TSV, loads it with \copy, and times the two queries with \timing.

CREATE UNLOGGED TABLE IF NOT EXISTS analytics_events (
  id text NOT NULL, tenant_id text NOT NULL, event_type varchar(50) NOT NULL,
  entity_id text, channel varchar(20), contact_id text, campaign_id text, template_id text,
  occurred_at timestamptz NOT NULL);

-- \copy analytics_events FROM 'pg-events.tsv' WITH (FORMAT text)

-- The seed's index for dashboard queries.
CREATE INDEX IF NOT EXISTS idx_analytics_tenant_type_time
  ON analytics_events (tenant_id, event_type, occurred_at);
VACUUM ANALYZE analytics_events;

\timing on

-- Seed-style overview: COUNT(*) FILTER + COUNT(DISTINCT) FILTER.
SELECT
  COUNT(*) FILTER (WHERE event_type = 'message_sent') AS sent,
  COUNT(*) FILTER (WHERE event_type = 'message_delivered') AS delivered,
  COUNT(*) FILTER (WHERE event_type = 'message_bounced') AS bounced,
  COUNT(*) FILTER (WHERE event_type = 'message_failed') AS failed,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_opened') AS opened,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE tenant_id = :'tenant' AND occurred_at >= :'start' AND occurred_at < :'end';

-- Daily series of the same.
SELECT date_trunc('day', occurred_at AT TIME ZONE 'UTC') AS day,
  COUNT(*) FILTER (WHERE event_type = 'message_sent') AS sent,
  COUNT(*) FILTER (WHERE event_type = 'message_delivered') AS delivered,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_opened') AS opened,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE tenant_id = :'tenant' AND occurred_at >= :'start' AND occurred_at < :'end'
GROUP BY 1 ORDER BY 1;
