"""The OpenAPI `requestBody` of a handler that reads its JSON body itself.

Such a handler (`POST /query`, `PUT /budget`) decodes the body with `query/body.py`, so
that a bad or unknown key answers 400 naming it; Litestar then sees no `data` parameter
and documents no body. `request_body` documents it from the same msgspec Struct (its JSON
Schema, `additionalProperties: false` included) with examples, which Swagger's
"Try it out" sends as they are.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar.openapi.spec import (
    Example,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    RequestBody,
    Schema,
)

# Schema's field for each JSON Schema keyword (`anyOf` → `any_of`, `not` → `schema_not`).
_FIELDS = {f.metadata.get("alias", f.name): f.name for f in dataclasses.fields(Schema)}
_ONE = {"items", "additionalProperties", "not", "contains", "propertyNames"}
_MANY = {"anyOf", "oneOf", "allOf", "prefixItems"}


def request_body(body_type: type[msgspec.Struct], examples: Mapping[str, Any],
                 description: str) -> RequestBody:
    """A required JSON body of `body_type`, with `examples` (summary → body)."""
    found = msgspec.json.schema(body_type)
    defs = found.get("$defs", {})
    return RequestBody(required=True, description=description, content={
        "application/json": OpenAPIMediaType(
            schema=_schema(found, defs),
            examples={_key(summary): Example(summary=summary, value=value)
                      for summary, value in examples.items()})})


def _key(summary: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", summary.lower()).strip("-")


def _schema(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Schema:
    """A JSON Schema of msgspec's as Litestar's Schema, references inlined (a body's
    Structs are few and small). A keyword it cannot carry is an error, not a silent gap."""
    if "$ref" in node:
        return _schema(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    fields: dict[str, Any] = {}
    for keyword, value in node.items():
        if keyword in ("$defs", "title"):  # a Python class name says nothing to a caller
            continue
        if keyword == "type":
            value = ([OpenAPIType(v) for v in value] if isinstance(value, list)
                     else OpenAPIType(value))
        elif keyword == "format":
            value = OpenAPIFormat(value)
        elif keyword == "properties":
            value = {name: _schema(v, defs) for name, v in value.items()}
        elif keyword in _ONE and isinstance(value, dict):
            value = _schema(value, defs)
        elif keyword in _MANY:
            value = [_schema(v, defs) for v in value]
        fields[_FIELDS[keyword]] = value
    return Schema(**fields)
