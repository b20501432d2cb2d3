"""Text every backend can store: a NUL character (U+0000) is refused at the door, naming the field.

PostgreSQL cannot store NUL in text (SQLite can), so a name or a note carrying one answered 500 on
one backend and was stored on the other. No field of the API has a use for it. JSON can carry it
only escaped (``\\u0000``), so a body is searched for that escape before anything decodes it; only
a body that has one is decoded here, to name the fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from litestar import Request

from roster.errors import FieldError, InvalidInput

#: ``\u0000`` preceded by an even number of backslashes (an odd one would be an escaped backslash).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_MESSAGE = "contains a NUL character (U+0000)"


def _paths(value: Any, path: str) -> Iterator[str]:
    """The dotted paths (``languages.0``) of every string, or object key, in ``value`` holding a NUL."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                yield inner
            else:
                yield from _paths(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, f"{path}.{index}" if path else str(index))


async def reject_nul(request: Request[Any, Any, Any]) -> None:
    """422 naming each query parameter or JSON field that holds a NUL; bodies of other types are the
    routes' own (uploads stream, and the import reports such a cell by row and column)."""
    fields = (
        [name for name, value in request.query_params.multi_items() if "\x00" in name or "\x00" in value]
        if request.scope["query_string"]
        else []
    )
    media_type = request.content_type[0]
    if media_type == "application/json" or media_type.endswith("+json"):
        body = await request.body()
        if b"\\u0000" in body and _ESCAPED_NUL.search(body):  # the plain search first: every body is read
            try:
                fields += _paths(json.loads(body), "")
            except ValueError:
                pass  # malformed JSON: the route's decoding says so
    if fields:
        fields = list(dict.fromkeys(fields))
        raise InvalidInput(
            detail="; ".join(f"{name}: {_MESSAGE}" for name in fields),
            errors=[FieldError(name, _MESSAGE) for name in fields],
        )
