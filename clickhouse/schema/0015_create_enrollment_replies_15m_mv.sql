CREATE MATERIALIZED VIEW IF NOT EXISTS enrollment_replies_15m_mv TO enrollment_replies_15m AS
SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    sequence_id,
    step_number,
    reinterpretAsUInt128(sipHash128(entity_id)) AS key
FROM analytics_events
WHERE event_type = 'sequence_enrollment_replied'
