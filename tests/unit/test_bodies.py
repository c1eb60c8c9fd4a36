"""Strict request bodies: a key the API does not know answers 400 naming it, wherever a
body is read (`POST /query`, `PUT /budget`), and no body type can forget to be strict.

No service is reached: a body that passes validation ends in 503 (the storage is never
connected), which is how these tests see it was accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from chanalytics.api.delivery import BudgetBody
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.query.body import BodyDecoder, field_of
from chanalytics.query.errors import BadParameter
from chanalytics.query.report import ReportBody, parse_report
from chanalytics.query.timerange import parse_window

AUTH = {"Authorization": "Bearer tok-1"}
QUERY = "/api/v1/analytics/query"
BUDGET = "/api/v1/analytics/budget"
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    storage = Storage("http://127.0.0.1:9", "never_connected")
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok-1=t1"}), storage=storage,
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client
    storage.close()


class Inner(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    by_name: str


class Outer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    metrics: list[str]
    sort: list[Inner] = []
    inner: Inner | None = None


class Loose(msgspec.Struct):
    name: str


class HidesLoose(msgspec.Struct, forbid_unknown_fields=True):
    items: dict[str, list[Loose | None]]


class TestBodyDecoder:
    @pytest.mark.parametrize(("raw", "field"), [
        (b'{"metrics": [], "filter": 1}', "filter"),
        (b'{"metrics": [], "startdate": "2026-03-01"}', "startdate"),
        (b'{"metrics": [], "sort": [{"byName": "x"}, {"byName": "x", "desc": true}]}',
         "sort[1].desc"),
        (b'{"metrics": [], "inner": {"by_name": "x"}}', "inner.by_name"),
        (b'{"metrics": [], "we`ird": 1}', "we`ird"),
        (b'{}', "metrics"),
        (b'{"metrics": "sent"}', "metrics"),
        (b'{"metrics": [1]}', "metrics"),
        (b'[]', "body"),
        (b'', "body"),
        (b'{"metrics": [', "body"),
        (b'{"metrics": [], "' + b"x" * 5000 + b'": 1}', "x" * 100),
    ])
    def test_every_fault_names_the_key(self, raw: bytes, field: str) -> None:
        """Unknown and missing keys by their path, a wrong value by its top-level key,
        the body itself when it is no JSON object; a long key is cut."""
        with pytest.raises(BadParameter) as caught:
            BodyDecoder(Outer).decode(raw)
        assert (caught.value.code, caught.value.field) == ("invalid_body", field)
        assert len(caught.value.message) <= 200

    def test_a_known_body_decodes(self) -> None:
        body = BodyDecoder(Outer).decode(b'{"metrics": ["sent"], "sort": [{"byName": "a"}]}')
        assert body == Outer(metrics=["sent"], sort=[Inner(by_name="a")])

    @pytest.mark.parametrize("body_type", [Loose, HidesLoose])
    def test_a_body_type_that_lets_unknown_keys_through_is_refused(
            self, body_type: type[msgspec.Struct]) -> None:
        """Also when the loose Struct hides inside a dict, a list or a union."""
        with pytest.raises(TypeError, match="Loose"):
            BodyDecoder(body_type)

    @pytest.mark.parametrize("body_type", [ReportBody, BudgetBody])
    def test_the_api_bodies_are_strict(self, body_type: type[msgspec.Struct]) -> None:
        BodyDecoder(body_type)

    def test_unknown_messages_name_the_body(self) -> None:
        assert field_of("something else entirely") == "body"


class TestQueryBody:
    @pytest.mark.parametrize(("body", "field"), [
        ({"metrics": ["sent"], "filter": [["is", "channel", ["email"]]]}, "filter"),
        ({"metrics": ["sent"], "startdate": "2026-03-01", "endDate": "2026-03-07"},
         "startdate"),
        ({"metrics": ["sent"], "orderby": [["sent", "desc"]]}, "orderby"),
        ({"metrics": ["sent"], "compare": "bogus"}, "compare"),
        ({"metrics": ["sent"], "compare": "previousPeriod"}, "compare"),
        ({"metric": ["sent"]}, "metric"),
    ])
    def test_misspelled_or_unknown_is_400_naming_it(
            self, client: TestClient[Any], body: dict[str, Any], field: str) -> None:
        response = client.post(QUERY, json=body, headers=AUTH)
        assert response.status_code == 400, response.text
        assert response.json()["success"] is False
        assert response.json()["error"]["field"] == field

    @pytest.mark.parametrize("compare", [None, "previous_period", "previous_year"])
    def test_compare_is_accepted(self, client: TestClient[Any], compare: str | None) -> None:
        response = client.post(QUERY, json={"metrics": ["sent"], "compare": compare},
                               headers=AUTH)
        assert response.json()["error"]["code"] == "storage_unavailable"

    @pytest.mark.parametrize("export", [{"format": "csv"}, {"format": "ndjson"}])
    def test_compare_with_an_export_is_400(self, client: TestClient[Any],
                                           export: dict[str, str]) -> None:
        """An export has no place for the comparison, so it is refused, not dropped."""
        response = client.post(QUERY, json={"metrics": ["sent"], "compare": "previous_year"},
                               params=export, headers=AUTH)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["field"] == "compare"

    def test_a_query_string_parameter_it_does_not_take_is_ignored(
            self, client: TestClient[Any]) -> None:
        """API.md: only the body is strict; the query string keeps the common rule."""
        response = client.post(QUERY, json={"metrics": ["sent"]}, params={"foo": "bar"},
                               headers=AUTH)
        assert response.json()["error"]["code"] == "storage_unavailable"

    def test_without_a_token_the_body_is_not_judged(self, client: TestClient[Any]) -> None:
        response = client.post(QUERY, json={"filter": []})
        assert response.status_code == 401


class TestBudgetBody:
    @pytest.mark.parametrize(("body", "field"), [
        ({"monthlyBudget": 100, "currency": "EUR"}, "currency"),
        ({"monthlybudget": 100}, "monthlybudget"),
        ({"monthlyBudget": 100, "timeZone": "Europe/Berlin"}, "timeZone"),
    ])
    def test_unknown_key_is_400_naming_it(self, client: TestClient[Any],
                                          body: dict[str, Any], field: str) -> None:
        response = client.put(BUDGET, json=body, headers=AUTH)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["field"] == field


class TestOpenAPIRequestBodies:
    @pytest.mark.parametrize(("path", "method", "body_type"), [
        (QUERY, "post", ReportBody), (BUDGET, "put", BudgetBody)])
    def test_the_body_is_documented_with_examples_that_are_valid_bodies(
            self, client: TestClient[Any], path: str, method: str,
            body_type: type[msgspec.Struct]) -> None:
        """Swagger's "Try it out" sends an example as it is: each must be a body the
        handler's own decoder accepts; the schema names every key and no other."""
        doc = client.get("/schema/openapi.json").json()
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] is True
        media = body["content"]["application/json"]
        schema = media["schema"]
        assert schema["additionalProperties"] is False
        keys = {f.encode_name for f in msgspec.structs.fields(body_type)}
        assert set(schema["properties"]) == keys
        examples = [e["value"] for e in media["examples"].values()]
        assert examples
        decoder = BodyDecoder(body_type)
        for example in examples:
            decoder.decode(msgspec.json.encode(example))

    def test_the_query_examples_pass_every_check_of_the_handler(
            self, client: TestClient[Any]) -> None:
        """Each query example is a valid question: its window and every part of it."""
        doc = client.get("/schema/openapi.json").json()
        media = doc["paths"][QUERY]["post"]["requestBody"]["content"]["application/json"]
        for example in media["examples"].values():
            body = BodyDecoder(ReportBody).decode(msgspec.json.encode(example["value"]))
            window = parse_window(time_range=body.time_range, start_date=body.start_date,
                                  end_date=body.end_date, timezone=body.timezone,
                                  default_range="30d", now=NOW)
            parse_report(body, "t1", window)
