"""A small SQL builder: statements are composed from named parts, values are bound.

Every value a request brings (tenant, instants, ids, zone, search text) goes through
`Params.bind`, which returns a `{name:Type}` placeholder that ClickHouse fills in
server-side. The only text written into SQL here is the code's own: column names,
expressions of the catalogue and literals of its constants (`literal`), never text
from a request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_CONSTANT = re.compile(r"[a-z0-9_]*", re.ASCII)
INSTANT = "DateTime64(3, 'UTC')"  # how an instant of a request is bound


class Params:
    """The bound values of one statement, named in the order they are bound."""

    def __init__(self, **fixed: Any) -> None:
        self.values: dict[str, Any] = dict(fixed)
        self._count = 0

    def bind(self, value: Any, type_name: str) -> str:
        """A placeholder for `value`, read by ClickHouse as `type_name`."""
        name = f"p{self._count}"
        self._count += 1
        self.values[name] = value
        return f"{{{name}:{type_name}}}"


def literal(constant: str) -> str:
    """A constant of the code's catalogue (an event type, a kind) as an SQL string literal."""
    if not _CONSTANT.fullmatch(constant):
        raise ValueError(f"not a catalogue constant: {constant!r}")
    return f"'{constant}'"


def literals(constants: Iterable[str]) -> str:
    """`(…)`, the constants as a tuple of literals, in sorted order."""
    return "(" + ", ".join(literal(c) for c in sorted(constants)) + ")"


def all_of(conditions: Iterable[str]) -> str:
    kept = [c for c in conditions if c]
    if not kept:
        return "1"
    return kept[0] if len(kept) == 1 else " AND ".join(f"({c})" for c in kept)


def any_of(conditions: Sequence[str]) -> str:
    if not conditions:
        return "0"
    return conditions[0] if len(conditions) == 1 else " OR ".join(f"({c})" for c in conditions)


@dataclass
class Select:
    """`SELECT columns FROM source [ARRAY JOIN …] WHERE … [GROUP BY …] [HAVING …]
    [ORDER BY …] [LIMIT …] [OFFSET …] [SETTINGS …]`."""

    columns: list[str]
    source: str
    where: list[str] = field(default_factory=list)
    array_join: str = ""
    group_by: str = ""
    having: str = ""
    order_by: str = ""
    limit: str = ""
    offset: str = ""
    settings: list[str] = field(default_factory=list)

    def sql(self) -> str:
        # The builder joins the code's own parts; values arrive only as placeholders.
        text = f"SELECT {', '.join(self.columns)} FROM {self.source}"  # noqa: S608
        if self.array_join:
            text += f" ARRAY JOIN {self.array_join}"
        text += f" WHERE {all_of(self.where)}"
        if self.group_by:
            text += f" GROUP BY {self.group_by}"
        if self.having:
            text += f" HAVING {self.having}"
        if self.order_by:
            text += f" ORDER BY {self.order_by}"
        if self.limit:
            text += f" LIMIT {self.limit}"
        if self.offset:
            text += f" OFFSET {self.offset}"
        if self.settings:
            text += f" SETTINGS {', '.join(self.settings)}"
        return text


def union_all(selects: Sequence[Select]) -> str:
    """A subquery of the selects joined by UNION ALL."""
    return "(" + " UNION ALL ".join(s.sql() for s in selects) + ")"
