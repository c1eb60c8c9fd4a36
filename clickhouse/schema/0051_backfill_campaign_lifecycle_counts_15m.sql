-- The campaign lifecycle events stored before 0049, from the lifecycle rollup (whose
-- parent_id is the campaign of a campaign event).
INSERT INTO campaign_message_counts_15m
SELECT tenant_id, bucket, parent_id AS campaign_id, '' AS channel, event_type, sum(events) AS events
FROM lifecycle_counts_15m
WHERE event_type IN ('campaign_started', 'campaign_completed')
GROUP BY tenant_id, bucket, parent_id, event_type
ORDER BY tenant_id, bucket, parent_id, event_type
SETTINGS insert_deduplication_token = 'migration-0051'
