"""``PageCache`` without a database: when a page is kept, shared, dropped or not kept at all."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import pytest

from roster.api.pagination import Page
from roster.db import page_cache as module
from roster.db.page_cache import PageCache


class FakeEngine:
    def __init__(self) -> None:
        self.current_transaction: ContextVar[Any] = ContextVar("tx", default=None)


@pytest.fixture
def counter(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The records' counter (``value``; None: no row) and the bound engine, as the cache sees them."""
    state: dict[str, Any] = {"value": 1, "engine": FakeEngine()}

    async def records_version() -> int | None:
        return state["value"]

    monkeypatch.setattr(module, "records_version", records_version)
    monkeypatch.setattr(module, "current_engine", lambda: state["engine"])
    return state


def reader(items: list[int], calls: list[int], gate: asyncio.Event | None = None) -> Any:
    async def read() -> Page[int]:
        calls.append(1)
        if gate is not None:
            await gate.wait()
        return Page(items=list(items), next_cursor=None)

    return read


async def test_kept_for_one_counter_value(counter: dict[str, Any]) -> None:
    cache, calls = PageCache(), []
    assert (await cache.page("k", reader([1], calls))).items == [1]
    assert (await cache.page("k", reader([2], calls))).items == [1], "kept"
    assert (cache.hits, cache.misses, len(calls)) == (1, 1, 1)
    counter["value"] = 2
    assert (await cache.page("k", reader([2], calls))).items == [2], "the counter moved: read again"
    assert len(cache) == 1 and cache.version == 2


async def test_callers_get_their_own_page(counter: dict[str, Any]) -> None:
    cache, calls = PageCache(), []
    page = await cache.page("k", reader([1, 2], calls))
    page.items.append(3)
    page.next_cursor = "x"
    again = await cache.page("k", reader([9], calls))
    assert again.items == [1, 2] and again.next_cursor is None


async def test_bounded_in_pages_and_items_least_recently_used_first(counter: dict[str, Any]) -> None:
    cache, calls = PageCache(max_pages=2, max_items=5), []
    await cache.page("a", reader([1], calls))
    await cache.page("b", reader([1], calls))
    await cache.page("a", reader([1], calls))  # a used last
    await cache.page("c", reader([1], calls))  # b goes
    assert len(calls) == 3
    await cache.page("a", reader([1], calls))
    await cache.page("b", reader([1], calls))
    assert len(calls) == 4 and len(cache) == 2
    await cache.page("big", reader([1] * 6, calls))  # over the items bound alone: not kept
    await cache.page("big", reader([1] * 6, calls))
    assert len(calls) == 6 and len(cache) == 2
    await cache.page("four", reader([1] * 4, calls))  # fits, with only one of the others
    assert len(cache) == 2


async def test_concurrent_misses_share_one_read(counter: dict[str, Any]) -> None:
    cache, calls, gate = PageCache(), [], asyncio.Event()
    waiting = [asyncio.create_task(cache.page("k", reader([1], calls, gate))) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert [p.items for p in await asyncio.gather(*waiting)] == [[1]] * 5
    assert len(calls) == 1 and (cache.misses, cache.shared) == (1, 4)


async def test_a_read_that_began_before_the_counter_moved_is_not_kept(counter: dict[str, Any]) -> None:
    cache, calls, gate = PageCache(), [], asyncio.Event()
    slow = asyncio.create_task(cache.page("k", reader([1], calls, gate)))
    await asyncio.sleep(0)
    counter["value"] = 2
    assert (await cache.page("k", reader([2], calls))).items == [2], "not the read in flight for 1"
    gate.set()
    assert (await slow).items == [1]
    assert (await cache.page("k", reader([3], calls))).items == [2], "the page read at 2 is what is kept"


async def test_not_kept_without_the_row_inside_a_transaction_or_behind_a_newer_read(counter: dict[str, Any]) -> None:
    cache, calls = PageCache(), []
    counter["value"] = None
    await cache.page("k", reader([1], calls))
    await cache.page("k", reader([1], calls))
    counter["value"] = 5
    await cache.page("k", reader([1], calls))
    counter["value"] = 4  # a counter read that began before the one that saw 5
    await cache.page("k", reader([1], calls))
    counter["value"] = 5
    token = counter["engine"].current_transaction.set(object())
    try:
        await cache.page("k", reader([1], calls))
    finally:
        counter["engine"].current_transaction.reset(token)
    assert len(calls) == 5 and cache.uncached == 4 and cache.hits == 0


async def test_a_failed_read_is_not_kept(counter: dict[str, Any]) -> None:
    cache = PageCache()

    async def failing() -> Page[int]:
        raise ValueError("bad input")

    for _ in range(2):
        with pytest.raises(ValueError):
            await cache.page("k", failing)
    assert len(cache) == 0 and cache.misses == 2


async def test_one_cache_per_bound_engine(counter: dict[str, Any]) -> None:
    first = module.page_cache()
    assert module.page_cache() is first
    counter["engine"] = FakeEngine()
    assert module.page_cache() is not first


async def test_a_value_kept_under_the_counter_its_caller_read(counter: dict[str, Any]) -> None:
    """``value_at``: the caller read the counter (with others, in one round trip); the cache reads none."""
    cache, calls = PageCache(), []
    counter["value"] = None  # were the cache to read the counter itself, nothing would be kept
    assert (await cache.value_at(5, "k", reader([1], calls))).items == [1]
    assert (await cache.value_at(5, "k", reader([2], calls))).items == [1], "kept for 5"
    assert (await cache.value_at(4, "k", reader([3], calls))).items == [3], "an older read: not answered from 5"
    assert (await cache.value_at(6, "k", reader([4], calls))).items == [4], "the counter moved"
    assert (await cache.value_at(None, "k", reader([5], calls))).items == [5], "no counter row: never kept"
    assert len(calls) == 4 and cache.version == 6
