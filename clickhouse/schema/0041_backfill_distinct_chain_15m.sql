INSERT INTO distinct_chain_15m
SELECT
    tenant_id, chain.1 AS level, bucket, metric,
    chain.2 AS channel, chain.3 AS campaign_id, chain.4 AS template_id,
    prev_bucket, toInt64(count()) AS keys
FROM
(
    SELECT tenant_id, metric, key, chain, arraySort(groupUniqArray(bucket)) AS buckets
    FROM
    (
        SELECT tenant_id, metric, key, bucket, arrayJoin({chain_levels}) AS chain
        FROM message_key_buckets
    )
    GROUP BY tenant_id, metric, key, chain
)
ARRAY JOIN
    buckets AS bucket,
    arrayPushFront(arrayPopBack(buckets), toDateTime(0, 'UTC')) AS prev_bucket
GROUP BY tenant_id, level, bucket, metric, channel, campaign_id, template_id, prev_bucket
SETTINGS insert_deduplication_token = 'migration-0041',
         max_bytes_before_external_group_by = 4000000000
