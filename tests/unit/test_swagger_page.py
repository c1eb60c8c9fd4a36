"""The API's documentation pages need nothing from the internet: no CDN asset, no favicon."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from chanalytics.api.examples import EXAMPLES
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings

# Every URL the page makes the browser fetch: src= and href=, in either quote.
_ASSET = re.compile(r"""(?:src|href)\s*=\s*(["'])(.*?)\1""", re.IGNORECASE)


def _example_texts(value: Any) -> set[str]:
    """Every string inside the recorded example answers."""
    if isinstance(value, dict):
        return set().union(*(_example_texts(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_example_texts(v) for v in value))
    return {value} if isinstance(value, str) else set()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    storage = Storage("http://127.0.0.1:9", "never_connected")  # the page needs no storage
    with TestClient(create_app(load_settings({}), storage=storage)) as test_client:
        yield test_client
    storage.close()


class TestSwaggerPage:
    @pytest.mark.parametrize("path", ["/schema/swagger", "/schema"])
    def test_references_no_remote_asset(self, client: TestClient[Any], path: str) -> None:
        """Neither page names an http(s) URL anywhere, so it works offline — except as the
        text of a recorded example answer (a campaign's clicked link), which Swagger UI
        shows and never fetches."""
        page = client.get(path)
        assert page.status_code == 200
        found = re.findall(r"https?://[^\s\"'\\]*", page.text)
        assert [url for url in found if url not in _example_texts(EXAMPLES)] == []

    def test_every_asset_and_the_favicon_are_served_here(self, client: TestClient[Any]) -> None:
        """Each src/href of the page, the favicon included, answers 200 from the service."""
        page = client.get("/schema/swagger").text
        links = [m.group(2) for m in _ASSET.finditer(page)]
        assert any("favicon" in link for link in links)
        for link in links:
            assert link.startswith("/schema/assets/"), link
            response = client.get(link)
            assert response.status_code == 200, link
            if link.endswith(".png"):
                assert response.headers["content-type"] == "image/png"
