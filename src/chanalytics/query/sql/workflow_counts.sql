-- Workflow run events per (workflow, event type, status) and per (local bucket, event
-- type, status); `status` tells completed from failed runs.
SELECT
    grouping(workflow_id, local_bucket) AS grouping_set,
    workflow_id,
    __LOCAL_BUCKET__ AS local_bucket,
    event_type,
    status,
    sum(events) AS events
FROM
(
    SELECT bucket, parent_id AS workflow_id, event_type, status, events
    FROM lifecycle_counts_15m
    WHERE tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
      AND ({workflow_id:String} = '' OR parent_id = {workflow_id:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT toStartOfFifteenMinutes(occurred_at) AS bucket, workflow_id, event_type, status,
           toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND ({workflow_id:String} = '' OR workflow_id = {workflow_id:String})
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((workflow_id, event_type, status), (local_bucket, event_type, status))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
