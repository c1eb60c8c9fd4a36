"""How to reach NATS and ClickHouse with the settings' credentials and TLS: one place, so
ingest, the API, readiness and `publish` connect the same way."""

from __future__ import annotations

import ssl
from typing import Any

from chanalytics.clickhouse.cluster import Layout
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import Settings


def nats_servers(url: str) -> list[str]:
    """`nats://a:4222,nats://b:4222` → each server: the client tries the others when one
    is down (a JetStream cluster)."""
    return [u.strip() for u in url.split(",") if u.strip()]


def nats_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `nats.connect` beyond the URL."""
    options: dict[str, Any] = {}
    if settings.nats_user:
        options.update(user=settings.nats_user, password=settings.nats_password)
    if settings.nats_token:
        options["token"] = settings.nats_token
    if settings.nats_creds_file:
        options["user_credentials"] = settings.nats_creds_file
    if settings.nats_tls_ca_file or settings.nats_tls_cert_file:
        context = ssl.create_default_context(cafile=settings.nats_tls_ca_file)
        if settings.nats_tls_cert_file:
            context.load_cert_chain(settings.nats_tls_cert_file, settings.nats_tls_key_file)
        options["tls"] = context
    return options


def schema_layout(settings: Settings) -> Layout:
    """Where the settings place the schema: one database, or shards of a cluster."""
    return Layout(settings.clickhouse_database, settings.clickhouse_cluster,
                  settings.clickhouse_replicated)


def open_storage_client(settings: Settings) -> Storage:
    """The storage the settings name (not yet connected)."""
    return Storage(settings.clickhouse_dsn, settings.clickhouse_database,
                   ca_cert=settings.clickhouse_ca_file, placement=schema_layout(settings))
