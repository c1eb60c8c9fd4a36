-- The day as a bucket start, computed on read: a query groups daily chain rows into local
-- buckets with the same expression as 15-minute ones (which read `bucket`), in one flat
-- SELECT instead of a subquery that renames the column.
ALTER TABLE distinct_chain_1d ADD COLUMN IF NOT EXISTS bucket DateTime('UTC') ALIAS toDateTime(day, 'UTC')
