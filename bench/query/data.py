"""The bench's synthetic events, generated inside ClickHouse from `numbers()`.

Tenant sizes are Zipf-like (the exponent solved so that the largest tenant holds ~5% of
the events); types, channels, sources and entities come from deterministic hashes of the
event number, so a load is the same every time. Events span the `SPAN_DAYS` days before
the load's end; the largest tenant also gets `FUTURE` events in the two days after it (a
publisher with a skewed clock), which no window ending *now* may count.
"""

# SQL here is built from constants and integers of this script, never from input.
# ruff: noqa: S608

from __future__ import annotations

DAY_MS = 86_400_000
SPAN_DAYS = 90
FUTURE = 1000

# Cumulative thresholds out of 10 000 (event mix of the whole data set).
EVENT_MIX = [
    ("message_sent", 4000),
    ("message_delivered", 3400),
    ("message_opened", 1200),
    ("message_clicked", 300),
    ("message_bounced", 150),
    ("message_failed", 100),
    ("message_complained", 10),
    ("message_unsubscribed", 30),
    ("campaign_started", 5),
    ("campaign_completed", 4),
    ("workflow_run_started", 200),
    ("workflow_run_completed", 160),
    ("workflow_run_goal_reached", 50),
    ("sequence_enrollment_enrolled", 80),
    ("sequence_step_executed", 150),
    ("sequence_enrollment_replied", 30),
    ("sequence_enrollment_completed", 30),
    ("sequence_enrollment_exited", 20),
    ("contact_created", 81),
]
assert sum(w for _, w in EVENT_MIX) == 10_000

COLUMNS = (
    "id, tenant_id, event_type, entity_type, entity_id, channel, contact_id, source_type, "
    "source_id, campaign_id, workflow_id, sequence_id, template_id, template_name, entity_name, "
    "provider, cost, duration_ms, error_code, bounce_type, url, step_number, status, "
    "recipient_count, contact_source, user_agent, geo_country, geo_city, machine_open, "
    "metadata, stream_seq, occurred_at")


def tenant_counts(events: int, tenants: int, largest_share: float = 0.05) -> list[int]:
    """Events per tenant rank: Zipf k^-s with s solved so that rank 1 holds `largest_share`."""
    def share(s: float) -> float:
        return 1.0 / sum(k ** -s for k in range(1, tenants + 1))

    lo, hi = 0.0, 3.0  # share(s) grows with s
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if share(mid) < largest_share else (lo, mid)
    s = (lo + hi) / 2
    weights = [k ** -s for k in range(1, tenants + 1)]
    total = sum(weights)
    return [max(1, round(events * w / total)) for w in weights]


def slot_table(counts: list[int], slots: int = 100_000) -> list[int]:
    """Slots per tenant (at least 1) for the in-SQL lookup array, proportional to counts."""
    total = sum(counts)
    per = [max(1, round(slots * c / total)) for c in counts]
    per[0] += slots - sum(per)
    return per


def insert_sql(start: int, rows: int, first_ms: int, span_ms: int, total: int,
               slots: list[int]) -> str:
    """Events `start` … `start + rows - 1`, timestamped in [first_ms, first_ms + span_ms)."""
    types = []
    acc = 0
    for name, weight in EVENT_MIX:
        acc += weight
        types.append(f"r < {acc}, '{name}'")
    event_type = "multiIf(" + ", ".join(types) + ", 'contact_created')"
    open_pool = max(1, total // 5)
    click_pool = max(1, total // 20)
    msg_pool = max(1, int(total * 0.45))
    run_pool = max(1, total // 60)
    enr_pool = max(1, total // 100)
    engaged = "et IN ('message_opened', 'message_clicked')"
    return f"""
INSERT INTO analytics_events ({COLUMNS})
WITH
    arrayFlatten(arrayMap((t, c) -> arrayWithConstant(c, t),
                          range(1, {len(slots) + 1}), {slots})) AS lut
SELECT
    concat('e', toString(n)) AS id,
    concat('tenant-', toString(tn)) AS tenant_id,
    et AS event_type,
    kind AS entity_type,
    multiIf(
        et = 'message_sent', concat('msg-', toString(n)),
        et = 'message_opened', concat('msg-', toString(cityHash64(n, 7) % {open_pool})),
        et = 'message_clicked', concat('msg-', toString(cityHash64(n, 7) % {click_pool})),
        kind = 'message', concat('msg-', toString(cityHash64(n, 7) % {msg_pool})),
        kind = 'campaign', cmp,
        kind = 'workflow', concat('run-', toString(cityHash64(n, 7) % {run_pool})),
        kind = 'sequence', concat('enr-', toString(cityHash64(n, 7) % {enr_pool})),
        concat('c-', toString(h8 % 200000))) AS entity_id,
    if(kind = 'message' OR kind = 'campaign', ch, '') AS channel,
    if(kind = 'campaign', '', concat('c-', toString(h8 % 200000))) AS contact_id,
    if(kind = 'message', src, '') AS source_type,
    multiIf(src = 'campaign', cmp, src = 'workflow', wf, src = 'sequence', seq, '') AS source_id,
    if(kind = 'campaign' OR (kind = 'message' AND src = 'campaign'), cmp, '') AS campaign_id,
    if(kind = 'workflow' OR (kind = 'message' AND src = 'workflow'), wf, '') AS workflow_id,
    if(kind = 'sequence' OR (kind = 'message' AND src = 'sequence'), seq, '') AS sequence_id,
    if(kind = 'message' AND h9 % 100 < 85, concat('tpl-', toString(h9 % 300)), '') AS template_id,
    if(template_id != '' AND h9 % 1000 < 50,
       concat('Template ', toString(h9 % 300), ' v', toString(intDiv(n, 1000000) % 5)),
       NULL) AS template_name,
    multiIf(kind = 'campaign', concat('Campaign ', cmp),
            kind = 'workflow' AND h9 % 10 = 0, concat('Workflow ', wf),
            kind = 'sequence' AND h9 % 10 = 0, concat('Sequence ', seq), NULL) AS entity_name,
    if(kind = 'message', ['ses', 'twilio', 'meta', 'fcm'][chi], '') AS provider,
    if(et = 'message_sent', toDecimal128(h9 % 5000, 12) / 100000, NULL) AS cost,
    if(et = 'message_delivered', h9 % 60000, NULL) AS duration_ms,
    if(et IN ('message_bounced', 'message_failed'), concat('E', toString(h9 % 40)), '')
        AS error_code,
    if(et = 'message_bounced', if(h9 % 3 = 0, 'hard', 'soft'), '') AS bounce_type,
    if(et = 'message_clicked', concat('https://example.com/l/', toString(h9 % 500)), '') AS url,
    toUInt32(if(kind = 'sequence' OR src = 'sequence', 1 + h9 % 5, 0)) AS step_number,
    multiIf(et = 'workflow_run_completed', if(h9 % 100 < 85, 'completed', 'failed'), '') AS status,
    if(et = 'campaign_started', 100 + h9 % 10000, NULL) AS recipient_count,
    if(et = 'contact_created', 'import', '') AS contact_source,
    if({engaged}, ['Mozilla/5.0 (iPhone; Mobile)', 'Mozilla/5.0 (iPad; Tablet)',
                   'Mozilla/5.0 (Windows NT 10.0)', ''][1 + h8 % 4], '') AS user_agent,
    if({engaged}, ['US', 'DE', 'IN', 'BR', 'GB'][1 + h9 % 5], '') AS geo_country,
    '' AS geo_city,
    et = 'message_opened' AND h8 % 5 = 0 AS machine_open,
    if(h9 % 4 = 0, '{{"k":"v"}}', '') AS metadata,
    n AS stream_seq,
    fromUnixTimestamp64Milli(toInt64({first_ms} + h3 % {span_ms}), 'UTC') AS occurred_at
FROM
(
    SELECT
        number AS n,
        lut[1 + cityHash64(number, 1) % length(lut)] AS tn,
        cityHash64(number, 2) % 10000 AS r,
        {event_type} AS et,
        multiIf(startsWith(et, 'message_'), 'message', startsWith(et, 'campaign_'), 'campaign',
                startsWith(et, 'workflow_'), 'workflow', startsWith(et, 'sequence_'), 'sequence',
                'contact') AS kind,
        cityHash64(number, 3) AS h3,
        cityHash64(number, 4) % 100 AS chp,
        multiIf(chp < 55, 1, chp < 80, 2, chp < 92, 3, 4) AS chi,
        ['email', 'sms', 'whatsapp', 'push'][chi] AS ch,
        cityHash64(number, 5) % 100 AS srcp,
        multiIf(srcp < 40, 'campaign', srcp < 70, 'workflow', srcp < 80, 'sequence',
                srcp < 95, 'manual', 'api') AS src,
        cityHash64(number, 6) AS h6,
        concat('cmp-', toString(h6 % 200)) AS cmp,
        concat('wf-', toString(h6 % 50)) AS wf,
        concat('seq-', toString(h6 % 30)) AS seq,
        cityHash64(number, 8) AS h8,
        cityHash64(number, 9) AS h9
    FROM numbers({start}, {rows})
)
SETTINGS max_threads = 2, max_insert_threads = 2, parallel_view_processing = 1,
         min_insert_block_size_rows = 2000000,
         min_insert_block_size_bytes = 0
"""
