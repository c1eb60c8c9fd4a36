"""Parameter validation, authentication and the error envelope of the analytics API.

No service is reached: the app's storage is never connected, so every request that
passes validation ends in 503 — which is how these tests see that a bad parameter is
refused (400, naming it) before any query runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from chanalytics.api.auth import tenant_for_token
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ONE_CAMPAIGN = "campaigns/cmp_1"
COMPARED = "campaigns/compare?campaignId=cmp_1&campaignId=cmp_2"
ENDPOINTS = ("overview", "messages", "campaigns", "workflows", "sequences", "templates",
             "traffic", ONE_CAMPAIGN, COMPARED)
AUTH = {"Authorization": "Bearer tok-1"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    storage = Storage("http://127.0.0.1:9", "never_connected")
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok-1=t1,tok-2=t2"}),
                     storage=storage, clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client
    storage.close()


def _error(client: TestClient[Any], endpoint: str, params: dict[str, str],
           headers: dict[str, str] = AUTH) -> tuple[int, dict[str, Any]]:
    path, _, query = endpoint.partition("?")  # the comparison's ids are in the endpoint
    pairs = [*parse_qsl(query, keep_blank_values=True), *params.items()]
    response = client.get(f"/api/v1/analytics/{path}", params=pairs, headers=headers)
    body = response.json()
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    return response.status_code, body["error"]


# (params, field, code) refused by every endpoint: the window and the zone.
WINDOW_ERRORS = [
    ({"timeRange": "2d"}, "timeRange", "invalid_time_range"),
    ({"timeRange": ""}, "timeRange", "invalid_time_range"),
    ({"timeRange": "7D"}, "timeRange", "invalid_time_range"),
    ({"startDate": "2026-01-01"}, "endDate", "invalid_time_range"),
    ({"endDate": "2026-01-01"}, "startDate", "invalid_time_range"),
    ({"startDate": "yesterday", "endDate": "2026-01-02"}, "startDate", "invalid_date"),
    ({"startDate": "2026-01-01", "endDate": "2026-13-01"}, "endDate", "invalid_date"),
    ({"startDate": "2026-02-30", "endDate": "2026-03-01"}, "startDate", "invalid_date"),
    ({"startDate": "2026-01-01T10:00:00", "endDate": "2026-01-02"}, "startDate",
     "invalid_date"),
    ({"startDate": "2026-01-02", "endDate": "2026-01-01"}, "endDate", "invalid_time_range"),
    ({"startDate": "2026-01-01T10:00:00Z", "endDate": "2026-01-01T10:00:00Z"}, "endDate",
     "invalid_time_range"),
    ({"startDate": "2024-01-01", "endDate": "2025-03-01"}, "endDate", "range_too_long"),
    ({"startDate": "1969-12-31", "endDate": "1970-01-02"}, "startDate", "invalid_date"),
    ({"timezone": "Mars/Olympus"}, "timezone", "invalid_timezone"),
    ({"timezone": ""}, "timezone", "invalid_timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone", "invalid_timezone"),
    ({"timezone": "utc'); DROP TABLE x; --"}, "timezone", "invalid_timezone"),
]

# (endpoint, params, field, code) for the parameters some endpoints take.
FILTER_ERRORS = [
    *((e, {"channel": c}, "channel", "invalid_channel")
      for e in ("overview", "messages", "campaigns", "templates", "traffic", ONE_CAMPAIGN,
                COMPARED)
      for c in ("fax", "EMAIL", "")),
    *((e, {"granularity": g}, "granularity", "invalid_granularity")
      for e in ("messages", "campaigns", "workflows", "traffic", ONE_CAMPAIGN)
      for g in ("minute", "HOUR", "")),
    *((e, {"granularity": "hour", "startDate": "2025-01-01", "endDate": "2025-12-31"},
       "granularity", "too_many_buckets")
      for e in ("messages", "campaigns", "workflows", "traffic", ONE_CAMPAIGN)),
    # A campaign in depth reads hours by default: a year of them is too many.
    (ONE_CAMPAIGN, {"startDate": "2025-01-01", "endDate": "2025-12-31"}, "granularity",
     "too_many_buckets"),
    *((e, {"limit": v}, "limit", "invalid_limit")
      for e in ("campaigns", "workflows", "sequences", "templates", ONE_CAMPAIGN)
      for v in ("0", "101", "-1", "ten", "1.5", "", "9" * 30)),
    # Too few, repeated, too many; then an id that is empty or too long.
    *((f"campaigns/compare{q}", {}, "campaignId", "invalid_ids")
      for q in ("", "?campaignId=a", "?campaignId=a&campaignId=a",
                "?" + "&".join(f"campaignId=c{i}" for i in range(11)))),
    *((f"campaigns/compare?campaignId=a&campaignId={v}", {}, "campaignId", "invalid_id")
      for v in ("", "x" * 257)),
    ("campaigns/" + "x" * 257, {}, "campaignId", "invalid_id"),
    *(("templates", {"minUsage": v}, "minUsage", "invalid_min_usage")
      for v in ("-1", "many", "", "1e3")),
    *((e, {name: v}, name, "invalid_id")
      for e, name in (("campaigns", "campaignId"), ("workflows", "workflowId"),
                      ("sequences", "sequenceId"), ("templates", "templateId"))
      for v in ("", "x" * 257)),
]


class TestBadParameters:
    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    @pytest.mark.parametrize(("params", "field", "code"), WINDOW_ERRORS)
    def test_bad_window_is_400_naming_the_parameter(
        self, client: TestClient[Any], endpoint: str, params: dict[str, str], field: str,
        code: str,
    ) -> None:
        """A bad range, date or zone answers 400 with its code, a message and the field."""
        status, error = _error(client, endpoint, params)
        assert (status, error["field"], error["code"]) == (400, field, code)
        assert error["message"]

    @pytest.mark.parametrize(("endpoint", "params", "field", "code"), FILTER_ERRORS)
    def test_bad_filter_is_400_naming_the_parameter(
        self, client: TestClient[Any], endpoint: str, params: dict[str, str], field: str,
        code: str,
    ) -> None:
        """A bad channel, granularity, limit, minUsage or id answers 400 naming it."""
        status, error = _error(client, endpoint, params)
        assert (status, error["field"], error["code"]) == (400, field, code)
        assert error["message"]

    @pytest.mark.parametrize("endpoint", ("overview", "sequences", "templates"))
    def test_parameter_an_endpoint_does_not_take_is_ignored(
        self, client: TestClient[Any], endpoint: str
    ) -> None:
        """`granularity` where there is no time series (or none to choose) is ignored."""
        status, error = _error(client, endpoint, {"granularity": "minute", "foo": "bar"})
        assert (status, error["code"]) == (503, "storage_unavailable")

    def test_auth_is_checked_before_parameters(self, client: TestClient[Any]) -> None:
        """Without a token, a bad parameter still answers 401: nothing is told to strangers."""
        status, error = _error(client, "messages", {"channel": "fax"}, headers={})
        assert (status, error["code"]) == (401, "unauthorized")
        assert "field" not in error


class TestStorageUnavailable:
    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    @pytest.mark.parametrize("params", [
        {}, {"timeRange": "90d", "timezone": "Asia/Kathmandu"},
        {"startDate": "2026-03-01", "endDate": "2026-03-02T10:15:00.5+05:45"},
    ])
    def test_valid_request_without_storage_is_503(
        self, client: TestClient[Any], endpoint: str, params: dict[str, str]
    ) -> None:
        """A valid request while storage is unreachable answers 503 in the error envelope."""
        status, error = _error(client, endpoint, params)
        assert (status, error["code"]) == (503, "storage_unavailable")
        assert "field" not in error


class TestTokens:
    def test_each_token_names_its_tenant(self) -> None:
        """A token maps to its own tenant; near misses map to none."""
        tokens = {"alpha-secret": "t_alpha", "beta-secret": "t_beta"}
        assert tenant_for_token("alpha-secret", tokens) == "t_alpha"
        assert tenant_for_token("beta-secret", tokens) == "t_beta"
        for wrong in ("", "alpha", "alpha-secret ", "ALPHA-SECRET", "beta-secretx", "é"):
            assert tenant_for_token(wrong, tokens) is None

    @pytest.mark.parametrize("header", [
        None, "", "Bearer", "Bearer ", "Bearer tok-3", "Basic tok-1", "tok-1",
        "Bearer tok-1x",
    ])
    def test_missing_or_unknown_token_is_401(
        self, client: TestClient[Any], header: str | None
    ) -> None:
        """No token, another scheme or an unknown token answers 401 in the error envelope."""
        headers = {} if header is None else {"Authorization": header}
        for endpoint in ENDPOINTS:
            status, error = _error(client, endpoint, {}, headers=headers)
            assert (status, error["code"]) == (401, "unauthorized")


class TestOpenAPI:
    def test_every_parameter_and_error_is_documented(self, client: TestClient[Any]) -> None:
        """Each endpoint documents its query parameters, the error envelope and bearer auth."""
        schema = client.get("/schema/openapi.json").json()
        expected = {
            "overview": {"timeRange", "startDate", "endDate", "timezone", "channel"},
            "messages": {"timeRange", "startDate", "endDate", "timezone", "granularity",
                         "channel"},
            "campaigns": {"timeRange", "startDate", "endDate", "timezone", "granularity",
                          "channel", "campaignId", "limit"},
            "workflows": {"timeRange", "startDate", "endDate", "timezone", "granularity",
                          "workflowId", "limit"},
            "sequences": {"timeRange", "startDate", "endDate", "timezone", "sequenceId",
                          "limit"},
            "templates": {"timeRange", "startDate", "endDate", "timezone", "channel",
                          "templateId", "limit", "minUsage"},
            "traffic": {"timeRange", "startDate", "endDate", "timezone", "granularity",
                        "channel"},
        }
        assert "bearerAuth" in schema["components"]["securitySchemes"]
        for endpoint, names in expected.items():
            operation = schema["paths"][f"/api/v1/analytics/{endpoint}"]["get"]
            params = operation["parameters"]
            assert {p["name"] for p in params} == names | {"compare"}
            assert all(p["in"] == "query" and p["description"] for p in params)
            assert {"200", "400", "401", "503"} <= set(operation["responses"])
            assert operation["security"] == [{"bearerAuth": []}]

    def test_a_campaign_and_the_comparison_document_their_parameters(
            self, client: TestClient[Any]) -> None:
        """The deep-dive's id is a path parameter; the comparison's a repeated query one."""
        paths = client.get("/schema/openapi.json").json()["paths"]
        window = {"timeRange", "startDate", "endDate", "timezone", "compare"}
        one = paths["/api/v1/analytics/campaigns/{campaignId}"]["get"]
        assert {(p["name"], p["in"]) for p in one["parameters"]} == {
            *((n, "query") for n in window | {"granularity", "channel", "limit"}),
            ("campaignId", "path")}
        assert {"200", "400", "401", "404", "503"} <= set(one["responses"])
        compared = paths["/api/v1/analytics/campaigns/compare"]["get"]
        assert {p["name"] for p in compared["parameters"]} == window | {"channel",
                                                                       "campaignId"}
        ids = next(p for p in compared["parameters"] if p["name"] == "campaignId")
        assert ids["schema"]["oneOf"][0]["type"] == "array" or ids["schema"].get(
            "type") == "array"


PARAMETERS = ("timeRange", "startDate", "endDate", "timezone", "granularity", "channel",
              "campaignId", "workflowId", "sequenceId", "templateId", "limit", "minUsage")
NEAR_VALID = ("7d", "90d", "2026-03-01", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00+05:45",
              "2026-03-01T10:00:00.123456789-03:30", "9999-12-31", "0000-01-01", "UTC",
              "Europe/Berlin", "hour", "month", "email", "0", "100", "-0", "1e2", "\x00", "")


class TestFuzzedParameters:
    @settings(max_examples=300, deadline=None)
    @given(endpoint=st.sampled_from(ENDPOINTS),
           params=st.dictionaries(st.sampled_from(PARAMETERS),
                                  st.sampled_from(NEAR_VALID) | st.text(max_size=40),
                                  max_size=6))
    def test_no_input_is_a_server_error(
        self, client: TestClient[Any], endpoint: str, params: dict[str, str]
    ) -> None:
        """Whatever the parameters, the answer is 400 naming one of them, or (valid) 503."""
        status, error = _error(client, endpoint, params)
        assert status in (400, 503), error
        if status == 400:
            assert error["field"] in PARAMETERS
            assert error["message"]


class TestHttpManners:
    def test_401_says_how_to_authenticate(self, client: TestClient[Any]) -> None:
        response = client.get("/api/v1/analytics/overview")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_head_on_liveness(self, client: TestClient[Any]) -> None:
        response = client.head("/health/live")
        assert response.status_code == 200 and response.content == b""

    def test_a_huge_timezone_is_not_echoed_back(self, client: TestClient[Any]) -> None:
        status, error = _error(client, "overview", {"timezone": "X" * 60_000})
        assert (status, error["field"]) == (400, "timezone")
        assert len(error["message"]) < 200

    def test_no_cors_headers_unless_configured(self, client: TestClient[Any]) -> None:
        response = client.get("/health/live", headers={"Origin": "https://dash.example.com"})
        assert "access-control-allow-origin" not in response.headers


def test_cors_lets_a_configured_origin_call_the_api() -> None:
    storage = Storage("http://127.0.0.1:9", "never_connected")
    settings_ = load_settings({"CHANALYTICS_API_KEYS": "tok-1=t1",
                               "CHANALYTICS_CORS_ORIGINS": "https://dash.example.com"})
    with TestClient(create_app(settings_, storage=storage)) as client:
        preflight = client.options("/api/v1/analytics/overview", headers={
            "Origin": "https://dash.example.com", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://dash.example.com"
        other = client.options("/api/v1/analytics/overview", headers={
            "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example.com"
    storage.close()


def test_api_docs_work_offline(client: TestClient[Any]) -> None:
    """Swagger UI's page loads its scripts and styles from this service, not a CDN."""
    page = client.get("/schema/swagger")
    assert page.status_code == 200
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(link.startswith("/schema/assets/") for link in links)
    for link in links:
        assert client.get(link).status_code == 200


class TestEngagementParameters:
    """The engagement endpoints check every parameter before storage is asked anything."""

    @pytest.mark.parametrize(("endpoint", "params", "field", "code"), [
        *(("engagement", {"limit": v}, "limit", "invalid_limit")
          for v in ("0", "1001", "-1", "ten", "")),
        *(("engagement", {"level": v}, "level", "invalid_level")
          for v in ("hot", "HIGH", "")),
        *(("engagement", {"cursor": v}, "cursor", "invalid_cursor")
          for v in ("", "nope", "WzEsMiwzXQ")),
        *((e, {"asOf": v}, "asOf", "invalid_as_of")
          for e in ("engagement", "contacts/c1/engagement")
          for v in ("", "now", "2026-03-20", "2026-03-20T12:00:00", "2026-03-20T25:00:00Z")),
        ("contacts/" + "c" * 257 + "/engagement", {}, "contactId", "invalid_id"),
    ])
    def test_bad_value_is_400_naming_it(self, client: TestClient[Any], endpoint: str,
                                        params: dict[str, str], field: str,
                                        code: str) -> None:
        status, error = _error(client, endpoint, params)
        assert (status, error["field"], error["code"]) == (400, field, code)

    @pytest.mark.parametrize("endpoint", ["engagement", "contacts/c1/engagement"])
    def test_valid_request_without_storage_is_503(self, client: TestClient[Any],
                                                  endpoint: str) -> None:
        status, error = _error(client, endpoint, {"asOf": "2026-03-20T11:59:30Z"})
        assert (status, error["code"]) == (503, "storage_unavailable")

    def test_documented_parameters(self, client: TestClient[Any]) -> None:
        paths = client.get("/schema/openapi.json").json()["paths"]
        ranking = paths["/api/v1/analytics/engagement"]["get"]
        assert {p["name"] for p in ranking["parameters"]} == {"level", "limit", "cursor",
                                                             "asOf"}
        one = paths["/api/v1/analytics/contacts/{contactId}/engagement"]["get"]
        assert {(p["name"], p["in"]) for p in one["parameters"]} == {("contactId", "path"),
                                                                    ("asOf", "query")}
        for operation in (ranking, one):
            assert {"200", "400", "401", "503"} <= set(operation["responses"])


class TestFunnelParameters:
    """Funnels and cohorts check every parameter before storage is asked anything."""

    @pytest.mark.parametrize(("endpoint", "params", "field", "code"), [
        *((e, {"windowHours": v}, "windowHours", "invalid_window_hours")
          for e in ("funnel", "funnel/workflows")
          for v in ("0", "721", "-1", "1.5", "", "72h", "99999")),
        *((e, p, f, c) for e in ("funnel", "funnel/workflows", "cohorts")
          for p, f, c in WINDOW_ERRORS),
        ("funnel", {"channel": "fax"}, "channel", "invalid_channel"),
        ("funnel", {"templateId": ""}, "templateId", "invalid_id"),
        ("funnel", {"campaignId": "c" * 257}, "campaignId", "invalid_id"),
        ("funnel/workflows", {"workflowId": ""}, "workflowId", "invalid_id"),
        ("cohorts", {"startDate": "2026-01-05", "endDate": "2026-07-06"}, "endDate",
         "range_too_long"),
        ("cohorts", {"compare": "last_week"}, "compare", "invalid_compare"),
    ])
    def test_bad_value_is_400_naming_it(self, client: TestClient[Any], endpoint: str,
                                        params: dict[str, str], field: str,
                                        code: str) -> None:
        status, error = _error(client, endpoint, params)
        assert (status, error["field"], error["code"]) == (400, field, code)

    @pytest.mark.parametrize(("endpoint", "params"), [
        ("funnel", {"windowHours": "720", "channel": "sms", "campaignId": "c",
                    "templateId": "t"}),
        ("funnel/workflows", {"windowHours": "1", "workflowId": "wf"}),
        ("cohorts", {"startDate": "2026-01-05", "endDate": "2026-07-05",
                     "timezone": "America/New_York"}),
    ])
    def test_valid_request_without_storage_is_503(self, client: TestClient[Any], endpoint: str,
                                                  params: dict[str, str]) -> None:
        status, error = _error(client, endpoint, params)
        assert (status, error["code"]) == (503, "storage_unavailable")

    def test_documented_parameters(self, client: TestClient[Any]) -> None:
        paths = client.get("/schema/openapi.json").json()["paths"]
        window = {"timeRange", "startDate", "endDate", "timezone", "compare"}
        expected = {"funnel": window | {"channel", "campaignId", "templateId", "windowHours"},
                    "funnel/workflows": window | {"workflowId", "windowHours"},
                    "cohorts": window}
        for endpoint, names in expected.items():
            operation = paths[f"/api/v1/analytics/{endpoint}"]["get"]
            assert {p["name"] for p in operation["parameters"]} == names
            assert {"200", "400", "401", "503"} <= set(operation["responses"])
