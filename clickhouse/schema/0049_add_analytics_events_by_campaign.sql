ALTER TABLE analytics_events ADD PROJECTION IF NOT EXISTS by_campaign
(
    SELECT tenant_id, campaign_id, occurred_at, event_type, entity_type, entity_id,
           contact_id, channel, provider, cost, duration_ms, error_code, bounce_type, url,
           status, step_number, template_id, workflow_id, sequence_id, user_agent,
           geo_country, geo_city, machine_open
    ORDER BY tenant_id, campaign_id, occurred_at
)
