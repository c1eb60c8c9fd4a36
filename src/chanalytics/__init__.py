"""chanalytics: messaging analytics — NATS JetStream in, ClickHouse rollups, a dashboard API out.

The parts, as folders:

- `mappers/`: the source events (`events.py`), the unified row (`rows.py`), and the pure
  functions from one to the other.
- `ingest/`: the JetStream pull consumer → batches → ClickHouse, exactly once.
- `query/`: the engine (catalogue, planner, compiler, presets) every answer comes from.
- `warehouse/`: the events as files per tenant and UTC day (`chanalytics export` and the
  daily export), written with the engine's encoders.
- `api/`: the HTTP side (handlers, readiness, the uvicorn protocol); `app.py` builds it.
- `clickhouse/`: the one client to ClickHouse (`storage.py`), the cluster layout, and
  `chanalytics clickhouse-server`.
- `nats/`: the bundled nats-server and who owns its store, and `chanalytics publish`.
- `live/`: the "stored" stream the writer publishes and the API's live event stream.
- `coordination/`: what processes that share work take turns with: the insert lease and
  the back-off between retries (ingest and the schedulers).
- `deliveries/`: webhooks and e-mails to people (signed, retried, only to safe addresses).
- `dashboard/`: the web page served at `/`.
- `cli/`: the `chanalytics` command, its banner and the demo's traffic.

Beside them, what every part reads: `config.py` (settings), `connections.py` (clients
from settings), `logs.py`, `metrics.py` (Prometheus), `localtime.py` (local days and
clock changes), `budgets.py` (the budget read model) and `ports.py`.
"""
