"""Cursor pagination: an opaque cursor carrying the last row's sort key and id."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

from roster.errors import InvalidInput

T = TypeVar("T")

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (1-500).")]
Cursor = Annotated[str | None, QueryParameter(description="`next_cursor` of the previous page.")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput.on("cursor", "not a cursor returned by this API") from None
    if not isinstance(key, list) or len(key) != arity or any(isinstance(k, (list, dict)) for k in key):
        raise InvalidInput.on("cursor", "not a cursor returned by this API")
    return key


def cursor_key(cursor: str | None, *parsers: Callable[[str], Any]) -> tuple[Any, ...] | None:
    """Decode a cursor into typed sort-key values, one parser per value (e.g. ``date.fromisoformat``)."""
    key = decode_cursor(cursor, len(parsers))
    if key is None:
        return None
    try:
        return tuple(parse(str(value)) for parse, value in zip(parsers, key, strict=True))
    except ValueError:
        raise InvalidInput.on("cursor", "not a cursor returned by this API") from None


def page_of(fetched: list[T], limit: int, key: Callable[[T], tuple[str, ...]]) -> Page[T]:
    """``fetched`` holds up to ``limit + 1`` items; the extra one only says another page exists."""
    if len(fetched) > limit:
        items = fetched[:limit]
        return Page(items=items, next_cursor=encode_cursor(*key(items[-1])))
    return Page(items=fetched, next_cursor=None)
