-- The chain rows one staged batch adds (`chanalytics/chains.py`): for every key the batch
-- touches, its chains before the batch (from `message_key_buckets`) counted -1 and after
-- it counted +1, so only the pairs the batch changes are left. Computed before the
-- batch is committed and read from nothing the batch itself writes, so a batch
-- recovered after a crash adds the very rows it was staged with.
INSERT INTO distinct_chain_pending
    (batch, tenant_id, level, bucket, metric, channel, campaign_id, template_id, prev_bucket, keys)
WITH staged AS
(
    SELECT
        tenant_id,
        multiIf(
            event_type = 'message_opened', 'opened',
            event_type = 'message_clicked', 'clicked',
            'campaign_recipient'
        ) AS metric,
        reinterpretAsUInt128(sipHash128(if(event_type = 'message_sent', contact_id, entity_id))) AS key,
        toStartOfFifteenMinutes(occurred_at) AS bucket,
        channel,
        campaign_id,
        template_id
    FROM ingest_staging
    WHERE batch = {batch:String}
      AND (event_type IN ('message_opened', 'message_clicked')
           OR (event_type = 'message_sent' AND campaign_id != '' AND contact_id != ''))
)
SELECT
    {batch:String}, tenant_id, chain.1 AS level, bucket, metric,
    chain.2 AS channel, chain.3 AS campaign_id, chain.4 AS template_id,
    prev_bucket, sum(sign) AS keys
FROM
(
    SELECT
        tenant_id, metric, key, chain,
        if(version = 'after', 1, -1) AS sign,
        arraySort(groupUniqArray(bucket)) AS buckets
    FROM
    (
        SELECT tenant_id, metric, key, bucket, arrayJoin(__CHAIN_LEVELS__) AS chain,
               arrayJoin(['before', 'after']) AS version
        FROM message_key_buckets
        WHERE (tenant_id, metric, key) IN (SELECT tenant_id, metric, key FROM staged)
        UNION ALL
        SELECT tenant_id, metric, key, bucket, arrayJoin(__CHAIN_LEVELS__) AS chain,
               'after' AS version
        FROM staged
    )
    GROUP BY tenant_id, metric, key, chain, version
)
ARRAY JOIN
    buckets AS bucket,
    arrayPushFront(arrayPopBack(buckets), toDateTime(0, 'UTC')) AS prev_bucket
GROUP BY tenant_id, level, bucket, metric, channel, campaign_id, template_id, prev_bucket
HAVING keys != 0
