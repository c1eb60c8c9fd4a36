-- Distinct keys (opened / clicked messages, campaign recipients) of the requested metrics
-- per group of the requested chain levels (chanalytics/chains.py). Each row gives a group's
-- keys counted toward the whole range (`total`) and, for the series level, toward one
-- local bucket (`per_bucket`); other levels have local bucket 0. A group has a row per
-- part of the range below: the caller adds them up. (One flat, grouped SELECT per part,
-- with no outer GROUP BY: chDB plans that in about half the time, 13 against 26 ms for
-- a median bench tenant's overview.)
--
-- A key counts at the chain pair whose bucket is in the range and whose previous bucket
-- is before the range's start (`mid_start` for the total, the later of `mid_start` and
-- the local bucket's start per bucket). The parts of the range, each left out when empty:
-- - whole UTC days from the daily chains, when the whole buckets start at a UTC midnight
--   (otherwise daily_start = daily_end); for the series level only when every local
--   bucket starts at one too (`series_daily`), else it reads all its whole buckets by
--   15 minutes. Without a series level, a simpler form of the same read (`daily-totals`).
--   They are a projection of the 15-minute chains: a day's first pair keeps its previous
--   day, the day's other pairs are dropped, so they hold up to 96 times fewer rows;
-- - the other whole 15-minute buckets from the 15-minute chains, and the whole UTC days
--   of a series level not read by day (each range its own branch, so that the primary
--   key skips what the branch does not need);
-- - the raw head and tail slices: their keys that the whole buckets do not hold.
-- <raw-edges> (left out when the window has no unaligned edge)
WITH
-- the message / recipient key rows of the raw head and tail slices
edge_rows AS
(
    SELECT
        multiIf(
            event_type = 'message_opened', 'opened',
            event_type = 'message_clicked', 'clicked',
            'campaign_recipient'
        ) AS metric,
        reinterpretAsUInt128(sipHash128(
            if(event_type = 'message_sent', contact_id, entity_id))) AS key,
        toStartOfFifteenMinutes(occurred_at) AS bucket,
        channel, campaign_id, template_id
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('message_opened', 'message_clicked', 'message_sent')
      AND ((occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {head_end:DateTime64(3, 'UTC')})
        OR (occurred_at >= {tail_start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}))
      AND (event_type != 'message_sent' OR (campaign_id != '' AND contact_id != ''))
),
-- per chain group, key and local bucket: whether the slices hold the key there
-- (`in_slices`), and whether only they do (`edge_only`, 0 when a whole bucket of the
-- range, looked up by key, holds it too)
edge_keys AS
(
    SELECT level, channel, campaign_id, template_id, metric, key, local_bucket,
           toInt64(min(in_edge)) AS edge_only, max(in_edge) AS in_slices
    FROM
    (
        SELECT
            chain.1 AS level, chain.2 AS channel, chain.3 AS campaign_id,
            chain.4 AS template_id, metric, key, in_edge,
            toInt64(if(level = {series_level:String}, __LOCAL_BUCKET__, 0)) AS local_bucket
        FROM
        (
            SELECT metric, key, bucket, in_edge, arrayJoin(__CHAIN_LEVELS__) AS chain
            FROM
            (
                SELECT metric, key, bucket, channel, campaign_id, template_id, 1 AS in_edge
                FROM edge_rows
                UNION ALL
                SELECT metric, key, bucket, channel, campaign_id, template_id, 0 AS in_edge
                FROM message_key_buckets
                WHERE tenant_id = {tenant:String}
                  AND (metric, key) IN (SELECT metric, key FROM edge_rows)
                  AND bucket >= {mid_start:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}
            )
            WHERE metric IN {metrics:Array(String)}
        )
        WHERE level IN {levels:Array(String)}
          AND ({channel:String} = '' OR channel = {channel:String})
          AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
          AND ({template_id:String} = '' OR template_id = {template_id:String})
    )
    GROUP BY level, channel, campaign_id, template_id, metric, key, local_bucket
)
-- </raw-edges>
-- <union> (the parts kept below, joined by UNION ALL)
-- <daily-totals> (the daily chains of a statement without a series: left out unless the
-- range's whole UTC days are read by day)
UNION ALL
-- Only the range's total: no local bucket to compute or to filter by, and the dates bound
-- as dates. chDB plans it 2-4 ms faster than the general form below.
SELECT
    level, channel, campaign_id, template_id, metric,
    toInt64(0) AS local_bucket,
    toInt64(sum(keys)) AS total,
    toInt64(0) AS per_bucket
FROM distinct_chain_1d
WHERE tenant_id = {tenant:String}
  AND level IN {levels:Array(String)}
  AND metric IN {metrics:Array(String)}
  AND day >= {daily_first_day:Date} AND day < {daily_end_day:Date}
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
  AND ({template_id:String} = '' OR template_id = {template_id:String})
  AND prev_day < {daily_first_day:Date}
GROUP BY level, channel, campaign_id, template_id, metric
-- </daily-totals>
-- <daily-chains> (the same with a series: left out unless the range's whole UTC days are
-- read by day)
UNION ALL
SELECT
    level, channel, campaign_id, template_id, metric,
    toInt64(if(level = {series_level:String}, __LOCAL_BUCKET__, 0)) AS local_bucket,
    toInt64(sumIf(keys, prev_day < toDate({daily_start:DateTime('UTC')}))) AS total,
    toInt64(sum(keys)) AS per_bucket
FROM distinct_chain_1d
WHERE tenant_id = {tenant:String}
  AND level IN {levels:Array(String)}
  AND metric IN {metrics:Array(String)}
  AND day >= toDate({daily_start:DateTime('UTC')}) AND day < toDate({daily_end:DateTime('UTC')})
  AND (level != {series_level:String} OR {series_daily:Bool})
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
  AND ({template_id:String} = '' OR template_id = {template_id:String})
  -- a pair that counts toward neither the total nor its local bucket is not aggregated
  AND toInt64(toUnixTimestamp(toDateTime(prev_day, 'UTC')))
      < greatest(local_bucket, toInt64(toUnixTimestamp({daily_start:DateTime('UTC')})))
GROUP BY level, channel, campaign_id, template_id, metric, local_bucket
-- </daily-chains>
-- <chain-edges> (left out when the daily chains cover every whole bucket)
UNION ALL
-- the whole buckets outside the whole UTC days, at every level
SELECT
    level, channel, campaign_id, template_id, metric,
    toInt64(if(level = {series_level:String}, __LOCAL_BUCKET__, 0)) AS local_bucket,
    toInt64(sumIf(keys, prev_bucket < {mid_start:DateTime('UTC')})) AS total,
    toInt64(sum(keys)) AS per_bucket
FROM distinct_chain_15m
WHERE tenant_id = {tenant:String}
  AND level IN {levels:Array(String)}
  AND metric IN {metrics:Array(String)}
  AND ((bucket >= {mid_start:DateTime('UTC')} AND bucket < {daily_start:DateTime('UTC')})
    OR (bucket >= {daily_end:DateTime('UTC')} AND bucket < {mid_end:DateTime('UTC')}))
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
  AND ({template_id:String} = '' OR template_id = {template_id:String})
  AND toInt64(toUnixTimestamp(prev_bucket))
      < greatest(local_bucket, toInt64(toUnixTimestamp({mid_start:DateTime('UTC')})))
GROUP BY level, channel, campaign_id, template_id, metric, local_bucket
-- </chain-edges>
-- <series-buckets> (left out unless the series level's local buckets cut UTC days)
UNION ALL
-- the whole UTC days again, by 15 minutes, for the series level alone
SELECT
    level, channel, campaign_id, template_id, metric,
    toInt64(__LOCAL_BUCKET__) AS local_bucket,
    toInt64(sumIf(keys, prev_bucket < {mid_start:DateTime('UTC')})) AS total,
    toInt64(sum(keys)) AS per_bucket
FROM distinct_chain_15m
WHERE tenant_id = {tenant:String}
  AND level = {series_level:String}
  AND metric IN {metrics:Array(String)}
  AND bucket >= {daily_start:DateTime('UTC')} AND bucket < {daily_end:DateTime('UTC')}
  AND ({channel:String} = '' OR channel = {channel:String})
  AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
  AND ({template_id:String} = '' OR template_id = {template_id:String})
  AND toInt64(toUnixTimestamp(prev_bucket))
      < greatest(local_bucket, toInt64(toUnixTimestamp({mid_start:DateTime('UTC')})))
GROUP BY level, channel, campaign_id, template_id, metric, local_bucket
-- </series-buckets>
-- <raw-edges> (left out when the window has no unaligned edge)
UNION ALL
-- per key of the slices: one row for the range (counted when no whole bucket holds
-- it) and one per local bucket (counted when no whole bucket of that local bucket does)
SELECT level, channel, campaign_id, template_id, metric,
       part.1 AS local_bucket, part.2 AS total, part.3 AS per_bucket
FROM
(
    SELECT
        level, channel, campaign_id, template_id, metric,
        arrayPushFront(
            arrayMap(b -> (b.1, toInt64(0), b.2),
                     groupArrayIf((local_bucket, edge_only), in_slices = 1)),
            (toInt64(0), min(edge_only), toInt64(0))) AS parts
    FROM edge_keys
    GROUP BY level, channel, campaign_id, template_id, metric, key
    HAVING max(in_slices) = 1
)
ARRAY JOIN parts AS part
-- </raw-edges>
