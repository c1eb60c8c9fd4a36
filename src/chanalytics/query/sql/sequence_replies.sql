-- Distinct enrollments with a reply in the range: per sequence, per step, and overall.
SELECT
    grouping(sequence_id, step_number) AS grouping_set,
    sequence_id,
    step_number,
    uniqExact(key) AS enrollments
FROM
(
    SELECT sequence_id, step_number, key
    FROM enrollment_replies_15m
    WHERE tenant_id = {tenant:String}
      AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
      AND ({sequence_id:String} = '' OR sequence_id = {sequence_id:String})
    -- <raw-edges> (left out when the window has no unaligned edge)
    UNION ALL
    SELECT sequence_id, step_number, reinterpretAsUInt128(sipHash128(entity_id)) AS key
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type = 'sequence_enrollment_replied'
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND ({sequence_id:String} = '' OR sequence_id = {sequence_id:String})
    -- </raw-edges>
)
GROUP BY GROUPING SETS ((sequence_id), (step_number), ())
-- grouping() bits as the SQL standard has them (1 = column aggregated away), whatever the profile.
SETTINGS force_grouping_standard_compatibility = 1
