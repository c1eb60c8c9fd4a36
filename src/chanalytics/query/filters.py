"""Validation of the filter parameters: channel, entity ids, limit and minUsage.

Every bad value raises `BadParameter` naming the parameter, before any query runs.
"""

from __future__ import annotations

import re

from chanalytics.mappers.events import MAX_ID_LENGTH
from chanalytics.query.errors import BadParameter

CHANNELS: tuple[str, ...] = ("email", "sms", "whatsapp", "push")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
DEFAULT_MIN_USAGE = 100
DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT = 100, 1000  # items per page of a paged list

_DIGITS = re.compile(r"\d{1,9}", re.ASCII)


def parse_channel(value: str | None) -> str | None:
    """The channel to filter on, or None for all channels."""
    if value is None or value in CHANNELS:
        return value
    raise BadParameter("invalid_channel", f"channel must be one of {'|'.join(CHANNELS)}", "channel")


def parse_entity_id(value: str | None, field: str) -> str | None:
    """An id filter (`campaignId`, …): 1 to 256 characters, as ingest accepts them (any id
    that can be stored can be asked for), or None when absent."""
    if value is None:
        return None
    if not 0 < len(value) <= MAX_ID_LENGTH:
        raise BadParameter("invalid_id", f"{field} must be 1 to {MAX_ID_LENGTH} characters", field)
    return value


def parse_provider(value: str | None) -> str | None:
    """A provider to filter on (exact; `unknown` matches events without one), or None."""
    return parse_entity_id(value, "provider")


def parse_limit(value: str | None) -> int:
    """How many entries each top list holds: 1 to 100, default 10."""
    if value is None:
        return DEFAULT_LIMIT
    if _DIGITS.fullmatch(value) and 1 <= int(value) <= MAX_LIMIT:
        return int(value)
    raise BadParameter("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")


def parse_page_limit(value: str | None) -> int:
    """Items per page of a paged list (events, suppressions): 1 to 1000, default 100."""
    if value is None:
        return DEFAULT_PAGE_LIMIT
    if _DIGITS.fullmatch(value) and 1 <= int(value) <= MAX_PAGE_LIMIT:
        return int(value)
    raise BadParameter("invalid_limit", f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}",
                       "limit")


def parse_min_usage(value: str | None) -> int:
    """The least usage a template needs to be ranked among the worst performing; default 100."""
    if value is None:
        return DEFAULT_MIN_USAGE
    if _DIGITS.fullmatch(value):
        return int(value)
    raise BadParameter(
        "invalid_min_usage", "minUsage must be a non-negative integer below 10^9", "minUsage"
    )


def parse_compared_ids(values: list[str] | None, field: str, least: int = 2,
                       most: int = 10) -> tuple[str, ...]:
    """The ids a comparison lists, in the order asked: `least` to `most` distinct ids, each
    as `parse_entity_id` accepts it; too few, too many or a repeated one is a 400."""
    ids = tuple(values or ())
    if not least <= len(ids) <= most:
        raise BadParameter("invalid_ids", f"give {field} {least} to {most} times, one id each",
                           field)
    if len(set(ids)) != len(ids):
        raise BadParameter("invalid_ids", f"{field} repeats an id", field)
    for value in ids:
        parse_entity_id(value, field)
    return ids
