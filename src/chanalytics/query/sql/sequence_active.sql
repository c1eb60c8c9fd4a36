-- Enrollments active at the end of the range: enrolled before it, and neither completed
-- nor exited before it (the 2299-12-31 sentinel of `ended_at` means never).
SELECT count() AS active
FROM
(
    SELECT min(enrolled_at) AS enrolled, min(ended_at) AS ended
    FROM enrollment_states
    WHERE tenant_id = {tenant:String}
      AND ({sequence_id:String} = '' OR sequence_id = {sequence_id:String})
    GROUP BY sequence_id, enrollment_id
)
WHERE enrolled < {end:DateTime64(3, 'UTC')} AND ended >= {end:DateTime64(3, 'UTC')}
