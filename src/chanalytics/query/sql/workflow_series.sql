-- Workflow run events per (local bucket, event type, status): from the rollup without
-- workflow ids, or from one workflow's lifecycle rows when `workflow_id` is given.
SELECT
    __LOCAL_BUCKET__ AS local_bucket,
    event_type,
    status,
    sum(events) AS events
FROM
(
    SELECT bucket, event_type, status, events
    FROM workflow_run_series_15m
    WHERE {workflow_id:String} = ''
      AND tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
    -- <one-workflow> (left out without a workflow filter)
    UNION ALL
    SELECT bucket, event_type, status, events
    FROM lifecycle_counts_15m
    WHERE {workflow_id:String} != ''
      AND tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
      AND parent_id = {workflow_id:String}
    -- </one-workflow>
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT toStartOfFifteenMinutes(occurred_at) AS bucket, event_type, status, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND ({workflow_id:String} = '' OR workflow_id = {workflow_id:String})
    -- </raw-edges>
)
GROUP BY local_bucket, event_type, status
