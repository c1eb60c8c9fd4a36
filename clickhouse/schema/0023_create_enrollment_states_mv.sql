CREATE MATERIALIZED VIEW IF NOT EXISTS enrollment_states_mv TO enrollment_states AS
SELECT
    tenant_id,
    sequence_id,
    entity_id AS enrollment_id,
    if(event_type = 'sequence_enrollment_enrolled', occurred_at,
       toDateTime64('2299-12-31 00:00:00', 3, 'UTC')) AS enrolled_at,
    if(event_type IN ('sequence_enrollment_completed', 'sequence_enrollment_exited'), occurred_at,
       toDateTime64('2299-12-31 00:00:00', 3, 'UTC')) AS ended_at
FROM analytics_events
WHERE event_type IN (
    'sequence_enrollment_enrolled', 'sequence_enrollment_completed', 'sequence_enrollment_exited'
)
