"""Settings: one frozen struct built from `CHANALYTICS_*` environment variables.

Read once at the edge (the CLI) and passed in; nothing here is a global, so tests
build settings from a plain dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

PREFIX = "CHANALYTICS_"


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: str = "./chanalytics-data"
    clickhouse_url: str | None = None
    clickhouse_database: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = (
        "chanalytics"
    )
    nats_url: str | None = None
    # NATS credentials (at most one way: user + password, a token, or a .creds file) and TLS
    # (a CA to verify the server; a client certificate and key for mutual TLS).
    nats_user: str | None = None
    nats_password: str | None = None
    nats_token: str | None = None
    nats_creds_file: str | None = None
    nats_tls_ca_file: str | None = None
    nats_tls_cert_file: str | None = None
    nats_tls_key_file: str | None = None
    # For an https:// ClickHouse: a CA file to verify it by (else the system's CAs).
    clickhouse_ca_file: str | None = None
    # A ClickHouse cluster (a `remote_servers` name): tables sharded by tenant behind
    # Distributed tables (clickhouse/cluster.py); replicated: with Keeper, ON CLUSTER
    # DDL and Replicated* engines.
    clickhouse_cluster: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = (
        None)
    clickhouse_replicated: bool = False
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    api_keys: str = ""
    # Origins allowed to call the API from a browser (a dashboard on another origin),
    # comma-separated, e.g. `https://dash.example.com`; empty: no CORS headers.
    cors_origins: str = ""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # `auto`: readable console lines on a terminal, JSON lines otherwise (for collectors).
    log_format: Literal["auto", "json", "console"] = "auto"
    stream_name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]+$")] = "ANALYTICS_SOURCE"
    dlq_stream: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]+$")] = "ANALYTICS_DLQ"
    # Copies of the source and dead-letter streams in a JetStream cluster (3 survives a
    # node's loss); 1 for a single server.
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    consumer_name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]+$")] = "chanalytics-ingest"
    # Capped so that `toDate(occurred_at) + TTL` stays inside ClickHouse's Date range (2149)
    # for every accepted timestamp (< 2106); an overflow would expire rows on insert.
    raw_ttl_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 730
    # Unset: 20,000 on the embedded engine, 10,000 against a server (bench/results/server.md:
    # at 1M events, 216 -> 137 MB peak RSS of the ingest process for 0.90x its rate).
    ingest_batch_size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    # When set, `ingest` serves /health/live, /health/ready and /metrics on this port (on
    # http_host), so each ingest process can be probed and scraped.
    ingest_http_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    ingest_flush_interval_ms: Annotated[int, msgspec.Meta(ge=10, le=600_000)] = 1_000
    ingest_max_deliveries: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    # Short, so a crashed worker's messages go to the others within seconds; a live worker
    # reports batches it holds longer as in progress (ingest/consumer.py).
    ingest_ack_wait_ms: Annotated[int, msgspec.Meta(ge=500, le=3_600_000)] = 10_000
    # Webhook hosts (names or IPs, comma-separated) exempt from the rule that refuses
    # loopback, private, link-local and multicast targets (deliveries/safety.py).
    webhook_allow_hosts: str = ""
    # Outgoing mail of report and alert deliveries (deliveries/email.py):
    # smtp://user:pass@host:port (STARTTLS when offered) or smtps://… (TLS), and the sender.
    smtp_url: str | None = None
    smtp_from: str | None = None
    # When set, the ingest side (`ingest`, `run`) writes the previous UTC day's events
    # there every day at 00:30 UTC (warehouse/daily.py); shared by all ingest processes.
    export_dir: str | None = None
    # Alerts (alerts/): the ingest-health limit (lag, and a stall: `alerts/detectors.py`).
    alert_lag_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 300.0
    # Off: no process evaluates alert rules or detectors (the API still stores rules).
    alerts_enabled: bool = True

    def __repr__(self) -> str:
        """Every setting but the secrets: passwords, tokens and API keys show as `<set>`."""
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value and name in _SECRET_FIELDS:
                value = "<set>"
            elif value and name in ("clickhouse_url", "smtp_url"):
                value = _without_password(value)
            shown.append(f"{name}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__

    @property
    def clickhouse_dsn(self) -> str:
        """Where ClickHouse is: the configured server, else the embedded chDB directory."""
        if self.clickhouse_url:
            return self.clickhouse_url
        return f"chdb://{(Path(self.data_dir) / 'clickhouse').resolve()}"

    @property
    def embedded(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb:")

    @property
    def batch_size(self) -> int:
        """Rows per insert: `ingest_batch_size`, else the measured default of the mode."""
        if self.ingest_batch_size is not None:
            return self.ingest_batch_size
        return 20_000 if self.embedded else 10_000

    def tenant_tokens(self) -> dict[str, str]:
        """Bearer token → tenant id, from `token=tenantId,…`."""
        return parse_api_keys(self.api_keys)


_KEEP_EMPTY = ("api_keys", "webhook_allow_hosts")  # empty is a value: none
_SECRET_FIELDS = frozenset({"nats_password", "nats_token", "api_keys"})


def _without_password(url: str) -> str:
    """`scheme://user:***@host…`: a URL as logs and reprs may show it."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


def parse_api_keys(value: str) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        token, sep, tenant = pair.partition("=")
        if not sep or not token.strip() or not tenant.strip():
            raise ConfigError(f"{PREFIX}API_KEYS: expected token=tenantId pairs, got {pair!r}")
        tokens[token.strip()] = tenant.strip()
    return tokens


def load_settings(environ: Mapping[str, str], **overrides: object) -> Settings:
    """Build settings from `CHANALYTICS_*` variables; CLI overrides win over the environment."""
    fields = set(Settings.__struct_fields__)
    raw: dict[str, object] = {}
    for key, value in environ.items():
        if key.startswith(PREFIX) and (name := key[len(PREFIX) :].lower()) in fields:
            raw[name] = value if value != "" or name in _KEEP_EMPTY else None
    raw.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(raw.get("log_level"), str):
        raw["log_level"] = str(raw["log_level"]).lower()
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_name_variable(str(exc))) from None
    parse_api_keys(settings.api_keys)
    _check_scheme("CLICKHOUSE_URL", settings.clickhouse_url, ("http", "https", "chdb"))
    _check_credentials(settings)
    if settings.clickhouse_cluster and settings.embedded:
        raise ConfigError(f"{PREFIX}CLICKHOUSE_CLUSTER: a cluster needs a ClickHouse server: "
                          f"set {PREFIX}CLICKHOUSE_URL to one of its nodes")
    if settings.clickhouse_replicated and not settings.clickhouse_cluster:
        raise ConfigError(f"{PREFIX}CLICKHOUSE_REPLICATED: needs {PREFIX}CLICKHOUSE_CLUSTER")
    _check_scheme("NATS_URL", settings.nats_url, ("nats", "tls", "ws", "wss"))
    _check_smtp(settings)
    return settings


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """`CHANALYTICS_*` variables that name no setting (a typo is otherwise silent)."""
    fields = set(Settings.__struct_fields__)
    return sorted(k for k in environ
                  if k.startswith(PREFIX) and not k.startswith(f"{PREFIX}TEST_")
                  and k[len(PREFIX):].lower() not in fields)


def _check_credentials(settings: Settings) -> None:
    ways = [w for w, on in (("NATS_USER", settings.nats_user), ("NATS_TOKEN", settings.nats_token),
                            ("NATS_CREDS_FILE", settings.nats_creds_file)) if on]
    if len(ways) > 1:
        raise ConfigError(f"{PREFIX}{ways[1]}: use one of NATS_USER (+ NATS_PASSWORD), "
                          f"NATS_TOKEN or NATS_CREDS_FILE, not {' and '.join(ways)}")
    if bool(settings.nats_user) != bool(settings.nats_password):
        raise ConfigError(f"{PREFIX}NATS_PASSWORD: NATS_USER and NATS_PASSWORD go together")
    if bool(settings.nats_tls_cert_file) != bool(settings.nats_tls_key_file):
        raise ConfigError(f"{PREFIX}NATS_TLS_KEY_FILE: a client certificate needs its key "
                          "(NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together)")
    for name in ("nats_creds_file", "nats_tls_ca_file", "nats_tls_cert_file",
                 "nats_tls_key_file", "clickhouse_ca_file"):
        path = getattr(settings, name)
        if path and not Path(path).is_file():
            raise ConfigError(f"{PREFIX}{name.upper()}: no such file {path[:200]!r}")


def _check_smtp(settings: Settings) -> None:
    # The URL holds a password: messages here name the variable, never quote its value.
    if settings.smtp_url:
        scheme, sep, rest = settings.smtp_url.partition("://")
        host = rest.rpartition("@")[2].split("/", 1)[0]
        if not sep or scheme.lower() not in ("smtp", "smtps") or not host.strip(":"):
            raise ConfigError(f"{PREFIX}SMTP_URL: expected smtp://[user:pass@]host[:port] "
                              "or smtps://…")
        if not settings.smtp_from:
            raise ConfigError(f"{PREFIX}SMTP_FROM: the sender address is needed with "
                              f"{PREFIX}SMTP_URL")
    if settings.smtp_from and "@" not in settings.smtp_from:
        raise ConfigError(f"{PREFIX}SMTP_FROM: not an e-mail address: "
                          f"{settings.smtp_from[:100]!r}")


def _check_scheme(name: str, url: str | None, schemes: tuple[str, ...]) -> None:
    if not url:
        return
    for server in url.split(","):  # NATS takes a list of servers
        scheme, sep, _ = server.strip().partition("://")
        if not sep or scheme.lower() not in schemes:
            raise ConfigError(f"{PREFIX}{name}: {server.strip()[:100]!r} is not a "
                              f"{' / '.join(s + '://' for s in schemes)} URL")


def _name_variable(message: str) -> str:
    """Turn msgspec's `... - at `$.http_port`` into a message naming the env variable."""
    text, _, path = message.rpartition(" - at `$.")
    if not path:
        return message
    return f"{PREFIX}{path.rstrip('`').upper()}: {text}"
