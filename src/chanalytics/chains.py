"""Distinct counts as sums: the key chains that ingest keeps and the queries add up.

`opened`/`clicked` count distinct messages and `totalRecipients` distinct contacts over a
range. A hash set of every key in the range (`uniqExact`) costs 20-30 ms for the largest
bench tenant. A chain turns that count into a sum:

- Take the 15-minute buckets in which one key (a message, a contact) has an event, in
  order: b1 < b2 < … < bn. The chain of the key is the pairs (b1, 0), (b2, b1), …,
  (bn, bn-1): each bucket with the one before it.
- The key has an event in a range of whole buckets [a, b) exactly when one of its pairs
  has its bucket in [a, b) and the bucket before it earlier than `a`: the first of its
  buckets inside the range.
- So "distinct keys in [a, b)" = number of pairs (bucket, previous) with
  a ≤ bucket < b and previous < a. Pairs need no key: `distinct_chain_15m` keeps their
  counts per (bucket, previous bucket, group), and the query sums a few rows.

An event that arrives late, before buckets the key already has, changes the previous
bucket of the next pair: ingest writes the difference as -1/+1 rows, so counts add up to
the chain of every event stored so far (`ingest/chain.sql`).

A distinct count is per group (per channel, per campaign, …), and a message's events may
disagree on their channel or campaign. So each key has one chain per *level*: the key's
events projected onto the level's dimensions. The `all` level counts a message once
however many channels its events name; `channel` counts it once per channel.
"""

from __future__ import annotations

from typing import Final

# Levels: name -> the dimensions its groups keep. `any-campaign` groups all campaign
# messages together (the campaign series); recipients need no template or any-campaign
# level (every recipient row is a campaign message without a template dimension).
LEVELS: Final = {
    "all": (),
    "channel": ("channel",),
    "campaign": ("campaign_id",),
    "campaign+channel": ("campaign_id", "channel"),
    "any-campaign": (),
    "any-campaign+channel": ("channel",),
    "template": ("template_id",),
    "template+channel": ("template_id", "channel"),
}

# The (level, channel, campaign_id, template_id) tuples one key row belongs to, over the
# columns metric, channel, campaign_id, template_id of a key row. Put where a statement
# says `{chain_levels}` (migrations) or `__CHAIN_LEVELS__` (ingest, queries).
LEVELS_SQL: Final = """arrayFilter(
        level -> multiIf(
            level.1 IN ('all', 'channel'), 1,
            level.1 IN ('campaign', 'campaign+channel'), campaign_id != '',
            metric = 'campaign_recipient', 0,
            level.1 IN ('any-campaign', 'any-campaign+channel'), campaign_id != '',
            template_id != ''),
        [('all', '', '', ''),
         ('channel', toString(channel), '', ''),
         ('campaign', '', campaign_id, ''),
         ('campaign+channel', toString(channel), campaign_id, ''),
         ('any-campaign', '', '', ''),
         ('any-campaign+channel', toString(channel), '', ''),
         ('template', '', '', template_id),
         ('template+channel', toString(channel), '', template_id)])"""

MACRO: Final = "__CHAIN_LEVELS__"
