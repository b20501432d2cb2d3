"""Opaque cursors: round trips, and anything else is a 422 on the ``cursor`` field."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.api.pagination import decode_cursor, encode_cursor
from roster.errors import InvalidInput

scalars = st.one_of(
    st.text(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.booleans(),
    st.none(),
    st.uuids().map(str),
    st.dates().map(lambda d: d.isoformat()),
)


def raw_cursor(payload: bytes, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(payload).decode()
    return text if pad else text.rstrip("=")


def assert_bad_cursor(cursor: str, arity: int) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_cursor(cursor, arity)
    assert [e.field for e in info.value.errors] == ["cursor"]
    assert info.value.status == 422


@given(st.lists(scalars, min_size=1, max_size=4))
def test_round_trip(key: list[Any]) -> None:
    cursor = encode_cursor(*key)
    assert decode_cursor(cursor, len(key)) == key


@given(st.text(), st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_round_trip_sort_key_and_id(sort_key: str, row_id: int) -> None:
    cursor = encode_cursor(sort_key, row_id)
    assert decode_cursor(cursor, 2) == [sort_key, row_id]


@given(st.lists(scalars, min_size=1, max_size=4))
def test_cursor_is_url_safe_and_unpadded(key: list[Any]) -> None:
    cursor = encode_cursor(*key)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_padded_cursor_is_accepted() -> None:
    assert decode_cursor(raw_cursor(b'["a",1]', pad=True), 2) == ["a", 1]


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_is_first_page(cursor: str | None) -> None:
    assert decode_cursor(cursor, 2) is None


@pytest.mark.parametrize(("key", "arity"), [(["a"], 2), (["a", 1, 2], 2), ([], 1), (["a", 1], 1)])
def test_wrong_arity(key: list[Any], arity: int) -> None:
    assert_bad_cursor(encode_cursor(*key), arity)


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!!",
        "a",  # one base64 character is never valid
        "abcde",
        "é",
        "%%%%%%%%",
        "W1 0=",
        "=====",
        "\x00",
    ],
)
def test_not_base64(cursor: str) -> None:
    assert_bad_cursor(cursor, 2)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1,", b"\xff\xfe\x00", b" ", b"[1, 2] trailing", b"{'a': 1}", b"[NaN, 1]"],
)
def test_not_json(payload: bytes) -> None:
    assert_bad_cursor(raw_cursor(payload), 2)


@pytest.mark.parametrize(
    "payload",
    [b'[["a"], 1]', b'["a", [1]]', b'[{"a": 1}, 2]', b'["a", {}]', b"[[], []]"],
)
def test_nested_values_rejected(payload: bytes) -> None:
    assert_bad_cursor(raw_cursor(payload), 2)


@pytest.mark.parametrize("payload", [b'{"a": 1, "b": 2}', b'"ab"', b"12", b"null", b"true"])
def test_not_a_list_rejected(payload: bytes) -> None:
    assert_bad_cursor(raw_cursor(payload), 2)


@given(st.text(max_size=40), st.integers(min_value=1, max_value=3))
def test_any_text_decodes_or_raises_invalid_input(cursor: str, arity: int) -> None:
    try:
        key = decode_cursor(cursor, arity)
    except InvalidInput as exc:
        assert [e.field for e in exc.errors] == ["cursor"]
        return
    if cursor == "":
        assert key is None
    else:
        assert isinstance(key, list) and len(key) == arity
        assert not any(isinstance(k, (list, dict)) for k in key)


@given(st.binary(max_size=40), st.integers(min_value=1, max_value=3))
def test_any_base64_payload_decodes_or_raises_invalid_input(payload: bytes, arity: int) -> None:
    cursor = raw_cursor(payload)
    try:
        key = decode_cursor(cursor, arity)
    except InvalidInput as exc:
        assert [e.field for e in exc.errors] == ["cursor"]
        return
    if cursor:
        assert key == msgspec.json.decode(payload)
