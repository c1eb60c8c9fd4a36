-- Sequence events per (sequence, event type) and per (step, event type).
SELECT
    grouping(sequence_id, step_number) AS grouping_set,
    sequence_id,
    step_number,
    event_type,
    sum(events) AS events
FROM
(
    SELECT parent_id AS sequence_id, step_number, event_type, events
    FROM lifecycle_counts_15m
    WHERE tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND event_type IN ('sequence_enrollment_enrolled', 'sequence_enrollment_replied',
                         'sequence_enrollment_completed', 'sequence_enrollment_exited',
                         'sequence_step_executed')
      AND ({sequence_id:String} = '' OR parent_id = {sequence_id:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT sequence_id, step_number, event_type, toUInt64(1) AS events
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('sequence_enrollment_enrolled', 'sequence_enrollment_replied',
                         'sequence_enrollment_completed', 'sequence_enrollment_exited',
                         'sequence_step_executed')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND ({sequence_id:String} = '' OR sequence_id = {sequence_id:String})
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((sequence_id, event_type), (step_number, event_type))
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
