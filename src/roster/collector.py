"""Pausing Python's cyclic garbage collector while work allocates many long-lived objects.

The collector runs every 700 net allocations, and its full passes walk every live object: while an
import or an index build keeps hundreds of thousands of new objects alive, it walked the growing heap
again and again (a fifth of a first import's CPU time; ten full passes, 3.2 s of a 7 s start at
50,000 physicians). Their objects hold no reference cycles (reference counting frees them); cycles
made elsewhere meanwhile are collected once the last pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Pauses in force in this process.
_pausers = 0


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside. Counted, so that concurrent pauses (an import beside an index
    rebuild) do not re-enable it under each other; left alone if it was already off."""
    global _pausers
    if not gc.isenabled() and _pausers == 0:
        yield
        return
    _pausers += 1
    gc.disable()
    try:
        yield
    finally:
        _pausers -= 1
        if _pausers == 0:
            gc.enable()
