"""What `run` prints at start about the demo's history."""

from __future__ import annotations

from chanalytics.cli.banner import banner


def _fields(text: str) -> dict[str, str]:
    return {name.strip(): value.strip() for name, _, value in
            (line.partition(":") for line in text.splitlines()[1:])}


def test_the_demo_line_says_how_much_history_is_loading() -> None:
    """A loading history is named in days or hours and points to the line that ends it;
    none to load says so; without the demo there is no demo line."""
    def line(seconds: float | None) -> str | None:
        return _fields(banner("http://h:1", "nats://h:2", "dev-x", seconds)).get("demo")

    assert line(30 * 86400) == ('history: loading 30 days… (the numbers move until '
                                '"demo history: done" is printed)')
    assert (line(0.2 * 86400) or "").startswith("history: loading 4.8 hours…")
    assert (line(42) or "").startswith("history: loading 42 seconds…")
    assert line(0) == "history: nothing to load (it is published once per data directory)"
    assert line(None) is None
