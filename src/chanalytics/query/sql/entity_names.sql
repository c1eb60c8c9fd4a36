-- The latest name of each listed entity (by event time, then event id); NULL when no
-- event carried one.
SELECT entity_id, argMaxMerge(name) AS name
FROM entity_names
WHERE tenant_id = {tenant:String}
  AND entity_kind = {kind:String}
  AND entity_id IN {ids:Array(String)}
GROUP BY entity_id
