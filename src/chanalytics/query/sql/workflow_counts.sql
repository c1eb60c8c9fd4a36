-- Workflow run events per (workflow, event type, status) over the range; `status` tells
-- completed from failed runs (workflow_series.sql has the time series).
--
-- Every run is its own event, so the 15-minute lifecycle rollup holds about one row per
-- workflow event: whole UTC days come from the daily rollup, the rest of the 15-minute
-- interior from the lifecycle one, the unaligned edges from the raw table.
SELECT
    workflow_id,
    event_type,
    status,
    sum(events) AS events
FROM
(
    SELECT workflow_id, event_type, status, events
    FROM workflow_run_counts_1d
    WHERE tenant_id = {tenant:String}
      AND day >= {first_day:Date} AND day < {end_day:Date}
      AND ({workflow_id:String} = '' OR workflow_id = {workflow_id:String})
    -- <partial-days> (left out when the interior is whole UTC days)
    UNION ALL
    SELECT parent_id AS workflow_id, event_type, status, events
    FROM lifecycle_counts_15m
    WHERE tenant_id = {tenant:String}
      AND ((bucket >= {mid_start:DateTime('UTC')} AND bucket < {day_start:DateTime('UTC')})
        OR (bucket >= {day_end:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}))
      AND event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
      AND ({workflow_id:String} = '' OR parent_id = {workflow_id:String})
    -- </partial-days>
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT workflow_id, event_type, status, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND ({workflow_id:String} = '' OR workflow_id = {workflow_id:String})
    -- </raw-edges>
)
GROUP BY workflow_id, event_type, status
