"""Settings come from CHANALYTICS_* variables, and bad values name the variable."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from chanalytics.clickhouse.storage import Storage
from chanalytics.config import ConfigError, load_settings, unknown_variables
from chanalytics.connections import nats_options


class TestLoadSettings:
    def test_defaults(self) -> None:
        """With no variables, the embedded engine under ./chanalytics-data is used."""
        settings = load_settings({})
        assert settings.clickhouse_dsn.startswith("chdb:///")
        assert settings.clickhouse_dsn.endswith("/chanalytics-data/clickhouse")
        assert settings.embedded
        assert settings.nats_url is None
        assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8000)
        assert (settings.stream_name, settings.dlq_stream) == ("ANALYTICS_SOURCE", "ANALYTICS_DLQ")
        assert settings.raw_ttl_days == 730

    def test_environment_and_overrides(self) -> None:
        """Variables are read as strings and converted; CLI overrides win."""
        settings = load_settings(
            {"CHANALYTICS_HTTP_PORT": "9001", "CHANALYTICS_CLICKHOUSE_URL": "http://ch:8123",
             "CHANALYTICS_LOG_LEVEL": "DEBUG", "OTHER": "x"},
            http_port=9002,
        )
        assert settings.http_port == 9002
        assert settings.clickhouse_dsn == "http://ch:8123"
        assert not settings.embedded
        assert settings.log_level == "debug"

    def test_api_keys(self) -> None:
        """API keys map bearer tokens to tenants."""
        settings = load_settings({"CHANALYTICS_API_KEYS": "tok-a=tenant_a, tok-b=tenant_b"})
        assert settings.tenant_tokens() == {"tok-a": "tenant_a", "tok-b": "tenant_b"}

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("CHANALYTICS_HTTP_PORT", "eighty"),
            ("CHANALYTICS_HTTP_PORT", "70000"),
            ("CHANALYTICS_LOG_FORMAT", "xml"),
            ("CHANALYTICS_API_KEYS", "no-equals-sign"),
            ("CHANALYTICS_RAW_TTL_DAYS", "0"),
            ("CHANALYTICS_RAW_TTL_DAYS", "3651"),
            ("CHANALYTICS_STREAM_NAME", "has.dots"),
            ("CHANALYTICS_CLICKHOUSE_DATABASE", "drop table; --"),
        ],
    )
    def test_bad_value_names_the_variable(self, variable: str, value: str) -> None:
        """A bad value fails at start with a message naming the variable."""
        with pytest.raises(ConfigError, match=variable):
            load_settings({variable: value})


def test_batch_size_defaults_by_mode() -> None:
    """Measured defaults: 20,000 rows on the embedded engine, 10,000 against a server (an
    ingest process then stays under 150 MB); a set value wins in both."""
    assert load_settings({}).batch_size == 20_000
    server = {"CHANALYTICS_CLICKHOUSE_URL": "http://ch:8123"}
    assert load_settings(server).batch_size == 10_000
    assert load_settings({**server, "CHANALYTICS_INGEST_BATCH_SIZE": "500"}).batch_size == 500


def test_unknown_variables_are_named() -> None:
    """A misspelled variable would be silently ignored; the CLI warns with these names."""
    environ = {"CHANALYTICS_HTTP_PROT": "9000", "CHANALYTICS_API_KEYS": "a=b",
               "CHANALYTICS_TEST_NO_DOCKER": "1", "HOME": "/root"}
    assert unknown_variables(environ) == ["CHANALYTICS_HTTP_PROT"]


@pytest.mark.parametrize(("variable", "value"), [
    ("CHANALYTICS_CLICKHOUSE_URL", "mysql://db:3306"),
    ("CHANALYTICS_CLICKHOUSE_URL", "ch:8123"),
    ("CHANALYTICS_NATS_URL", "http://nats:4222"),
    ("CHANALYTICS_NATS_URL", "nats://a:4222,redis://b:6379"),
])
def test_unsupported_url_schemes_are_refused(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


@pytest.mark.parametrize(("variable", "field", "value"), [
    ("CHANALYTICS_CLICKHOUSE_URL", "clickhouse_url", "https://user:pw@ch.example.com:8443"),
    ("CHANALYTICS_NATS_URL", "nats_url", "nats://a:4222,tls://b:4222"),
])
def test_supported_url_schemes_are_taken(variable: str, field: str, value: str) -> None:
    """A supported URL is kept as given, credentials and every server of a list included."""
    assert getattr(load_settings({variable: value}), field) == value


class TestConnectionOptions:
    def test_nats_credentials_and_tls(self, tmp_path: Path) -> None:
        """Each way of authenticating reaches nats.connect's keyword of the same meaning."""
        assert nats_options(load_settings({})) == {}
        user = load_settings({"CHANALYTICS_NATS_USER": "u", "CHANALYTICS_NATS_PASSWORD": "p"})
        assert nats_options(user) == {"user": "u", "password": "p"}
        assert nats_options(load_settings({"CHANALYTICS_NATS_TOKEN": "t"})) == {"token": "t"}
        creds = tmp_path / "app.creds"
        creds.write_text("-----BEGIN NATS USER JWT-----\n")
        by_file = load_settings({"CHANALYTICS_NATS_CREDS_FILE": str(creds)})
        assert nats_options(by_file) == {"user_credentials": str(creds)}
        ca = load_settings({"CHANALYTICS_NATS_TLS_CA_FILE": certifi_like(tmp_path)})
        assert isinstance(nats_options(ca)["tls"], ssl.SSLContext)

    @pytest.mark.parametrize(("environ", "named"), [
        ({"CHANALYTICS_NATS_USER": "u", "CHANALYTICS_NATS_TOKEN": "t"}, "NATS_TOKEN"),
        ({"CHANALYTICS_NATS_USER": "u"}, "NATS_PASSWORD"),
        ({"CHANALYTICS_NATS_CREDS_FILE": "/no/such.creds"}, "NATS_CREDS_FILE"),
        ({"CHANALYTICS_CLICKHOUSE_CA_FILE": "/no/such.pem"}, "CLICKHOUSE_CA_FILE"),
        ({"CHANALYTICS_NATS_TLS_CERT_FILE": __file__}, "NATS_TLS_KEY_FILE"),
    ])
    def test_inconsistent_credentials_are_refused(self, environ: dict[str, str],
                                                  named: str) -> None:
        with pytest.raises(ConfigError, match=named):
            load_settings(environ)

    def test_logs_never_show_a_clickhouse_password(self) -> None:
        storage = Storage("http://reader:s3cret@ch.example.com:8123", "db")
        assert storage.shown_dsn == "http://reader:***@ch.example.com:8123"
        storage.close()


def certifi_like(tmp_path: Path) -> str:
    """A CA bundle file: the system's, copied (any valid PEM of CAs will do)."""
    path = tmp_path / "ca.pem"
    path.write_text(Path(ssl.get_default_verify_paths().openssl_cafile).read_text())
    return str(path)


def test_a_cluster_needs_a_server_and_replication_needs_a_cluster() -> None:
    with pytest.raises(ConfigError, match="CHANALYTICS_CLICKHOUSE_CLUSTER: a cluster needs"):
        load_settings({"CHANALYTICS_CLICKHOUSE_CLUSTER": "shop"})
    with pytest.raises(ConfigError, match="CHANALYTICS_CLICKHOUSE_REPLICATED: needs"):
        load_settings({"CHANALYTICS_CLICKHOUSE_URL": "http://ch:8123",
                       "CHANALYTICS_CLICKHOUSE_REPLICATED": "true"})
    settings = load_settings({"CHANALYTICS_CLICKHOUSE_URL": "http://ch:8123",
                              "CHANALYTICS_CLICKHOUSE_CLUSTER": "shop"})
    assert settings.clickhouse_cluster == "shop" and not settings.clickhouse_replicated


def test_migrate_print_shows_the_cluster_script() -> None:
    # schema_ddl is what `migrate --print` prints; main() is not called here because it
    # configures logging onto the test's captured stdout, which later tests would write to.
    from chanalytics.cli.main import schema_ddl

    script = schema_ddl(load_settings({"CHANALYTICS_CLICKHOUSE_URL": "http://127.0.0.1:1"},
                                      clickhouse_cluster="shop", clickhouse_replicated=True))
    assert script.startswith("-- chanalytics schema, database chanalytics, cluster shop "
                             "(replicated)\n")
    assert ("USE `chanalytics_local`;\nCREATE TABLE IF NOT EXISTS analytics_events "
            "ON CLUSTER") in script
    assert "ENGINE = Distributed(`shop`, `chanalytics_local`, `analytics_events`" in script


class TestDeliverySettings:
    def test_webhook_allow_hosts(self) -> None:
        """The allow-list is kept as given (read by `AddressPolicy.from_setting`), empty by
        default and when set empty."""
        assert load_settings({}).webhook_allow_hosts == ""
        assert load_settings({"CHANALYTICS_WEBHOOK_ALLOW_HOSTS": ""}).webhook_allow_hosts == ""

    def test_smtp_url_and_sender(self) -> None:
        """An SMTP URL is kept as given and needs a sender address."""
        settings = load_settings({"CHANALYTICS_SMTP_URL": "smtps://u:pw@mail.example.com:465",
                                  "CHANALYTICS_SMTP_FROM": "reports@example.com"})
        assert settings.smtp_url == "smtps://u:pw@mail.example.com:465"
        assert settings.smtp_from == "reports@example.com"

    @pytest.mark.parametrize(("environ", "named"), [
        ({"CHANALYTICS_SMTP_URL": "http://u:hunter2@mail:25",
          "CHANALYTICS_SMTP_FROM": "a@example.com"}, "SMTP_URL"),
        ({"CHANALYTICS_SMTP_URL": "smtp://u:hunter2@mail:25"}, "SMTP_FROM"),
        ({"CHANALYTICS_SMTP_FROM": "no-at-sign"}, "SMTP_FROM"),
    ])
    def test_bad_smtp_settings_name_the_variable_not_the_password(
            self, environ: dict[str, str], named: str) -> None:
        """A bad SMTP setting names its variable and never quotes the URL's password."""
        with pytest.raises(ConfigError, match=named) as caught:
            load_settings(environ)
        assert "hunter2" not in str(caught.value)

    def test_repr_hides_secrets(self) -> None:
        """Settings as a log line or a traceback shows them: no password, token or key."""
        settings = load_settings({"CHANALYTICS_SMTP_URL": "smtp://u:hunter2@mail:587",
                                  "CHANALYTICS_SMTP_FROM": "a@example.com",
                                  "CHANALYTICS_CLICKHOUSE_URL": "http://r:chpass@ch:8123",
                                  "CHANALYTICS_NATS_USER": "n", "CHANALYTICS_NATS_PASSWORD": "np1",
                                  "CHANALYTICS_API_KEYS": "tok-secret=t1"})
        shown = repr(settings)
        for secret in ("hunter2", "chpass", "np1", "tok-secret"):
            assert secret not in shown
        assert "smtp://u:***@mail:587" in shown and str(settings) == shown
