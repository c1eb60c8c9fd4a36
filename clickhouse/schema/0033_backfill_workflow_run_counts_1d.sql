INSERT INTO workflow_run_counts_1d
SELECT tenant_id, toDate(bucket) AS day, parent_id AS workflow_id, event_type, status,
       sum(events) AS events
FROM lifecycle_counts_15m
WHERE event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
GROUP BY tenant_id, day, workflow_id, event_type, status
ORDER BY tenant_id, day, workflow_id, event_type, status
SETTINGS insert_deduplication_token = 'migration-0033'
