"""The cyclic collector's pause: counted across overlapping pauses, restored whatever happens inside,
and never switched on by a pause that found it off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from roster import collector


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_overlapping_pauses_keep_it_off_until_the_last_ends() -> None:
    first, second = collector.paused(), collector.paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # an import ends while an index build goes on
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_it_is_back_on_after_an_error_inside() -> None:
    with pytest.raises(RuntimeError), collector.paused():
        assert not gc.isenabled()
        raise RuntimeError("disk full")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
