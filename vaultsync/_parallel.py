"""Private: run a function over chunks of work on every core (fork where available).

The shared state (a name table, settings) is handed to forked workers by inheritance, not by
pickling; with ``spawn`` it goes through the pool initializer. Small jobs run in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_state: Any = None


def worker_state() -> Any:
    """The state given to :func:`map_chunks`, inside a worker (or in-process)."""
    return _state


def _init(state: Any) -> None:
    global _state
    if state is not None:
        _state = state


def map_chunks(
    fn: Callable[[list[T]], list[R]],
    items: list[T],
    state: Any,
    *,
    jobs: int | None = None,
    chunk: int = 64,
    threshold: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[R]:
    """Yield ``fn(chunk)``'s results for every chunk of ``items`` (in no particular order).

    ``fn`` must be a module-level function that reads :func:`worker_state`.
    """
    global _state
    _state = state
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    jobs = jobs or os.cpu_count() or 1
    done = 0
    if len(items) < threshold or jobs < 2:
        results: Iterator[list[R]] = map(fn, chunks)
        pool = None
    else:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        pool = multiprocessing.get_context(method).Pool(jobs, initializer=_init, initargs=(None if method == "fork" else state,))
        results = pool.imap_unordered(fn, chunks)
    try:
        for result in results:
            yield from result
            done += len(result)
            if progress is not None:
                progress(done, len(items))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
