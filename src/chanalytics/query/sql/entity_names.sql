-- The latest name of each entity of one kind (by event time, then event id); NULL when no
-- event carried one. `ids` empty: every entity of the kind, up to `limit` of them.
SELECT entity_id, argMaxMerge(name) AS name
FROM entity_names
WHERE tenant_id = {tenant:String}
  AND entity_kind = {kind:String}
  AND (empty({ids:Array(String)}) OR entity_id IN {ids:Array(String)})
GROUP BY entity_id
LIMIT {limit:UInt32}
