"""The example answers of the OpenAPI document: real answers about the demo's busy retailer,
recorded by `scripts/openapi_examples.py` into `examples.json` (lists cut to three items).
`tests/unit/test_openapi_examples.py` checks each one against its response type."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import msgspec
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example

from chanalytics.api.parameters import ERROR_RESPONSES

EXAMPLES: dict[str, Any] = msgspec.json.decode(
    files("chanalytics.api").joinpath("examples.json").read_bytes())


def answered(name: str, container: Any, description: str = "The answer",
             errors: dict[int, ResponseSpec] = ERROR_RESPONSES) -> dict[int, ResponseSpec]:
    """The responses of an endpoint: `errors`, and its 200 as `container` with the recorded
    example `name` (none until it is recorded: the test names what is missing)."""
    examples = [Example(summary="The demo's retailer", value=EXAMPLES[name])] if (
        name in EXAMPLES) else None
    return {**errors, 200: ResponseSpec(data_container=container, generate_examples=False,
                                        description=description, examples=examples)}
