CREATE MATERIALIZED VIEW IF NOT EXISTS entity_names_mv TO entity_names AS
SELECT
    tenant_id,
    if(entity_type = 'message', 'template', entity_type) AS entity_kind,
    multiIf(
        entity_type = 'message', template_id,
        entity_type = 'campaign', campaign_id,
        entity_type = 'workflow', workflow_id,
        sequence_id
    ) AS entity_id,
    argMaxState(
        assumeNotNull(if(entity_type = 'message', template_name, entity_name)),
        (occurred_at, id)
    ) AS name
FROM analytics_events
WHERE (entity_type = 'message' AND template_id != '' AND template_name IS NOT NULL)
   OR (entity_type IN ('campaign', 'workflow', 'sequence') AND entity_name IS NOT NULL)
GROUP BY tenant_id, entity_kind, entity_id
