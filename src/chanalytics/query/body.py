"""JSON request bodies, read strictly: a key the API does not know is refused, never
read as if it were absent (`"filter"` for `"filters"` once answered the unfiltered total).

`BodyDecoder` decodes into a msgspec Struct; every fault becomes a BadParameter naming
the key at fault, so the API answers 400 with `error.field`. It refuses, when it is
built, a body type that would let an unknown key through, nested Structs included: a
body added later cannot forget to be strict.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

import msgspec

from chanalytics.query.errors import BadParameter

S = TypeVar("S", bound=msgspec.Struct)

MAX_FIELD = 100  # a misspelled key is quoted back; never kilobytes of it
# msgspec's words for a key: "Object contains unknown field `filter`", "Object missing
# required field `metrics` - at `$.items[0]`". The key may hold backticks itself.
_KEY = re.compile(r"Object (?:contains unknown|missing required) field `(.*?)`"
                  r"(?: - at `\$(.*)`)?", re.DOTALL)
# Every other complaint: "Expected `array`, got `str` - at `$.metrics[0]`".
_AT = re.compile(r" - at `\$\.?(.*)`$", re.DOTALL)


class BodyDecoder(Generic[S]):
    """Decodes JSON bytes into `body_type`, a BadParameter with code `code` for any fault."""

    def __init__(self, body_type: type[S], code: str = "invalid_body") -> None:
        loose = _loose_structs(body_type)
        if loose:
            raise TypeError(f"request body types must forbid unknown fields: {loose}")
        self._decoder = msgspec.json.Decoder(body_type)
        self.code = code

    def decode(self, raw: bytes) -> S:
        try:
            return self._decoder.decode(raw)
        except msgspec.ValidationError as exc:
            text = str(exc)
            raise BadParameter(self.code, text, field_of(text)) from None
        except msgspec.DecodeError as exc:
            raise BadParameter(self.code, f"the body is not JSON: {exc}", "body") from None


def field_of(message: str) -> str:
    """The body key a msgspec ValidationError is about: the key itself when one is
    unknown or missing (with its path when nested: `sort[0].by`), else the top-level key
    whose value is wrong (`metrics` for `$.metrics[0]`); `body` for the body as a whole."""
    key = _KEY.fullmatch(message)
    if key is not None:
        name, at = key.groups()
        path = f"{at.lstrip('.')}.{name}" if at else name
        return path[:MAX_FIELD] or "body"
    at = _AT.search(message)
    if at is None:
        return "body"
    return re.split(r"[.\[]", at.group(1), maxsplit=1)[0][:MAX_FIELD] or "body"


def _loose_structs(body_type: type[msgspec.Struct]) -> list[str]:
    """The Struct types reachable from `body_type` that accept unknown fields."""
    loose: list[str] = []
    seen: set[type] = set()

    def walk(info: msgspec.inspect.Type) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in seen:
                return
            seen.add(info.cls)
            if not info.forbid_unknown_fields:
                loose.append(info.cls.__name__)
            for f in info.fields:
                walk(f.type)
        elif isinstance(info, msgspec.inspect.Metadata):
            walk(info.type)
        elif isinstance(info, msgspec.inspect.UnionType):
            for t in info.types:
                walk(t)
        elif isinstance(info, msgspec.inspect.DictType):
            walk(info.value_type)
        elif isinstance(info, msgspec.inspect.CollectionType):
            walk(info.item_type)
        elif isinstance(info, msgspec.inspect.TupleType):
            for t in info.item_types:
                walk(t)

    walk(msgspec.inspect.type_info(body_type))
    return loose
