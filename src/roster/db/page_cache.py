"""List pages kept in memory, per process and database, as long as the records they list are unchanged.

A page of ``GET /api/v1/physicians`` or ``GET /api/v1/licenses`` costs its query, and the state filter's
query sorts every physician licensed in the state (issue 18). The answer only changes when physician,
license or certification records do, and every committed transaction that writes them bumps one counter,
``roster_version`` row ``RECORDS`` (``roster.db.tx.mark_records_written``; roster changes always do). So
each read first reads that counter (one read by primary key, inline on SQLite) and answers from the pages
kept for that value; on a miss the page is read and kept under the value read *before* its query, so a
kept page is never older than its key. The counter lives in the database, so a write through any replica
or process shows on every replica's next read: no replica is ever told anything.

The key is the request's own inputs (and the date), and ``read`` checks them as well as reading the
page: a page is only kept for inputs that passed the checks, and the reference data they are checked
against (states, specialties) is only replaced in a roster write, which moves the counter too. So a kept
page answers without the checks' queries, and bad input is refused exactly as without the cache.

Other reads that change only with those records are kept the same way (:meth:`PageCache.value`): today's
compliance report of a physician, the path a router or a workspace polls (its CME credits mark the
counter too).

When the counter moves, every kept page goes (they are only ever good for one value). The map is bounded
in pages and in items and evicts the least recently used. Kept pages are shared: callers get their own
``Page`` and ``items`` list, the items themselves (read schemas) must not be changed; a kept value is
shared as it is, and must not be changed either. Not inside a write transaction: what it reads is not
committed, and may never be.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from piccolo.engine.base import Engine

from roster.api.pagination import Page
from roster.db.engine import current_engine
from roster.history.repository import records_version

T = TypeVar("T")

#: At most this many pages are kept per process and database...
MAX_PAGES = 256
#: ...and at most this many items over all of them (a page holds up to 500).
MAX_ITEMS = 10_000


class PageCache:
    """The pages kept for one database in this process, all for one value of the records' counter."""

    def __init__(self, max_pages: int = MAX_PAGES, max_items: int = MAX_ITEMS) -> None:
        self.max_pages = max_pages
        self.max_items = max_items
        #: The records' counter the kept pages are good for; None before the first read.
        self.version: int | None = None
        #: key -> (what was read, its size in items: a page's items, else 1).
        self._pages: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._items = 0
        #: key -> the read in flight for it (at ``version``), shared by the requests that miss meanwhile.
        self._loading: dict[Hashable, asyncio.Task[Any]] = {}
        #: Answers from a kept page; reads run (and kept); answers from a read already in flight; reads not
        #: kept (no counter row, inside a transaction, or a counter read older than the newest seen).
        self.hits = self.misses = self.shared = self.uncached = 0

    def __len__(self) -> int:
        return len(self._pages)

    async def page(self, key: Hashable, read: Callable[[], Awaitable[Page[T]]]) -> Page[T]:
        """The page ``read`` returns for ``key`` (every input of the query, the date included) as the
        records stand now: kept, or read and kept."""
        return _own(await self.value(key, read))

    async def value(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """What ``read`` returns for ``key`` as the records stand now, kept or read and kept; shared by
        every caller (not to be changed). A read that raises is not kept: the next caller reads again."""
        in_transaction = current_engine().current_transaction.get() is not None
        return await self.value_at(None if in_transaction else await records_version(), key, read)

    async def value_at(self, version: int | None, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """:meth:`value`, given the records' counter as the caller just read it (with other counters, in
        the same round trip: ``history.repository.versions``). Nothing is kept inside a transaction (``version``
        is then not read: pass None)."""
        if version is None or current_engine().current_transaction.get() is not None:
            self.uncached += 1
            return await read()
        if self.version is None or version > self.version:
            self._reset(version)
        elif version < self.version:  # a counter read that began before another request's newer one
            self.uncached += 1
            return await read()
        kept = self._pages.get(key)
        if kept is not None:
            self._pages.move_to_end(key)
            self.hits += 1
            return kept[0]
        loading = self._loading.get(key)
        if loading is not None and loading.get_loop() is asyncio.get_running_loop():
            self.shared += 1
        else:
            self.misses += 1
            loading = self._loading[key] = asyncio.ensure_future(read())
            loading.add_done_callback(lambda done: self._loaded(key, version, done))
        # Shielded: a request that goes away does not cancel the read the others wait for.
        return await asyncio.shield(loading)

    def _loaded(self, key: Hashable, version: int, done: asyncio.Task[Any]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if done.cancelled() or done.exception() is not None or version != self.version:
            return
        value = done.result()
        size = len(value.items) if isinstance(value, Page) else 1
        if size > self.max_items or key in self._pages:
            return
        self._pages[key] = (value, size)
        self._items += size
        while len(self._pages) > self.max_pages or self._items > self.max_items:
            _, (_, evicted) = self._pages.popitem(last=False)
            self._items -= evicted

    def _reset(self, version: int | None) -> None:
        self.version = version
        self._pages.clear()
        self._items = 0
        self._loading.clear()  # reads in flight for the old value keep going, but are not kept or shared

    def clear(self) -> None:
        """Forget every page (and the counter's value)."""
        self._reset(None)


def _own(page: Page[T]) -> Page[T]:
    """The caller's own page and list (a kept page is shared by every request for it)."""
    return Page(items=list(page.items), next_cursor=page.next_cursor)


#: The bound engine's pages. One database per process in production; tests bind a new engine per app
#: (PostgreSQL's engine takes no weak reference), and a page is never carried from one to the next.
_current: tuple[Engine, PageCache] | None = None


def page_cache() -> PageCache:
    """The pages kept for the bound engine (new ones whenever another engine is bound)."""
    global _current
    engine = current_engine()
    if _current is None or _current[0] is not engine:
        _current = (engine, PageCache())
    return _current[1]


async def cached_page(key: Hashable, read: Callable[[], Awaitable[Page[T]]]) -> Page[T]:
    """:meth:`PageCache.page` on the bound engine's pages."""
    return await page_cache().page(key, read)


async def cached_value_at(version: int | None, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
    """:meth:`PageCache.value_at` on the bound engine's pages."""
    return await page_cache().value_at(version, key, read)
