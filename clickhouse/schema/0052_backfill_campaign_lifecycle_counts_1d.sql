-- The campaign lifecycle events stored before 0050, by day, from the lifecycle rollup.
INSERT INTO campaign_message_counts_1d
SELECT tenant_id, toDate(bucket) AS day, parent_id AS campaign_id, '' AS channel, event_type,
       sum(events) AS events
FROM lifecycle_counts_15m
WHERE event_type IN ('campaign_started', 'campaign_completed')
GROUP BY tenant_id, day, parent_id, event_type
ORDER BY tenant_id, day, parent_id, event_type
SETTINGS insert_deduplication_token = 'migration-0052'
