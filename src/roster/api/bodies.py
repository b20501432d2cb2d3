"""Decode a JSON body by hand (for routes that accept more than one media type)."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from roster.errors import FieldError, InvalidInput

T = TypeVar("T")


def decode_json(raw: bytes, type_: type[T]) -> T:
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.rsplit("`$.", 1)[-1].rstrip("`") if "`$." in message else "body"
        if "field `" in message:
            field = message.split("field `", 1)[1].split("`", 1)[0]
        raise InvalidInput(detail=message, errors=[FieldError(field, message.split(" - at ")[0])]) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(detail=f"malformed JSON: {exc}", errors=[FieldError("body", "malformed JSON")]) from None
