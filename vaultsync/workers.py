"""Run a function over chunks of work on every core (fork where available): the one worker pool
of vaultsync (the scans, normalize, and through the public API the exporters).

The shared state (a name table, settings) is handed to forked workers by inheritance, not by
pickling; with ``spawn`` it goes through the pool initializer. Small jobs run in-process, and so
does any job started from a thread other than the main one (the API server's request and export
threads): forking a process that runs other threads may copy a lock some thread holds.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
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
    _die_with_parent()
    if state is not None:
        _state = state


_parent = os.getpid()  # set again just before a pool starts


def _mark_parent() -> None:
    global _parent
    _parent = os.getpid()


def _die_with_parent() -> None:
    """A worker ends when the process that started it dies (kill -9 included), so no worker goes
    on writing notes for a run nobody waits for. Linux: PR_SET_PDEATHSIG; elsewhere the pool's
    own pipe closing ends the workers at their next task."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if _parent != os.getpid() and os.getppid() != _parent:  # (a spawned worker knows no _parent)
        os._exit(1)  # the parent died before the signal was armed


def _chunked(items: list[T], chunk: int) -> list[list[T]]:
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _in_process(items: int, threshold: int, jobs: int) -> bool:
    """Whether a job runs in this process: a small one, one worker, or a call from a thread."""
    return items < threshold or jobs < 2 or threading.current_thread() is not threading.main_thread()


def _context() -> tuple[Any, bool]:
    """The multiprocessing context (fork where available: state is inherited, not pickled)."""
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method), method == "fork"


def map_chunks(
    fn: Callable[[list[T]], list[R]],
    items: list[T],
    state: Any,
    *,
    jobs: int | None = None,
    chunk: int = 64,
    threshold: int = 256,
    progress: Callable[[int, int], None] | None = None,
    ordered: bool = False,
) -> Iterator[R]:
    """Yield ``fn(chunk)``'s results for every chunk of ``items`` (in no particular order, or in
    the order of ``items`` when ``ordered``).

    ``fn`` must be a module-level function that reads :func:`worker_state`.
    """
    global _state
    _state = state
    chunks = _chunked(items, chunk)
    jobs = jobs or os.cpu_count() or 1
    done = 0
    if _in_process(len(items), threshold, jobs):
        results: Iterator[list[R]] = map(fn, chunks)
        pool = None
    else:
        ctx, forked = _context()
        _mark_parent()
        pool = ctx.Pool(jobs, initializer=_init, initargs=(None if forked else state,))
        results = pool.imap(fn, chunks) if ordered else pool.imap_unordered(fn, chunks)
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


Tick = Callable[[int], None]
_ticks: Any = None  # the queue workers report progress on, inherited like the state
_claim: Any = None  # (shared bounds, chunks): where workers of map_shares take their chunks
_receive: Callable[[Any], None] | None = None  # map_shares' receive, when its shares run in-process
_POST = "post"  # a message on the ticks queue is (_POST, message); an int is a tick, None "done"


def post(message: Any) -> None:
    """Hand ``message`` (picklable) from a share of :func:`map_shares` to the parent's
    ``receive``, which takes it while the shares go on working (in-process: at once)."""
    if _ticks is not None:
        _ticks.put((_POST, message))
    elif _receive is not None:
        _receive(message)


def _segments(chunks: int, jobs: int) -> list[int]:
    """[lo, hi) of each worker's own run of chunks, flattened: the chunks split in ``jobs``
    consecutive runs."""
    return [b for k in range(jobs) for b in (k * chunks // jobs, (k + 1) * chunks // jobs)]


def _claimed(share: int) -> Iterator[list[Any]]:
    """The chunks of one share: its own run from the front, then, once that is done, chunks
    taken from the back of whichever run has most left. Neighbouring chunks (the same folders,
    when the items are sorted by path) mostly stay in one worker, and so do its memos' entries."""
    bounds, chunks = _claim
    jobs = len(bounds) // 2
    while True:
        with bounds.get_lock():
            b = bounds.get_obj()
            if b[2 * share] < b[2 * share + 1]:
                k = b[2 * share]
                b[2 * share] = k + 1
            else:
                most = max(range(jobs), key=lambda j: b[2 * j + 1] - b[2 * j])
                if b[2 * most] >= b[2 * most + 1]:
                    return
                k = b[2 * most + 1] - 1
                b[2 * most + 1] = k
        yield chunks[k]


def _run_share(args: tuple[Callable[[Iterator[list[T]], Tick, int], R], int]) -> R:
    fn, share = args
    if _ticks is None:
        return fn(_claimed(share), _no_tick, share)
    try:
        return fn(_claimed(share), _ticks.put, share)
    finally:  # the parent listens until every worker has said it is done, failed ones included
        _ticks.put(None)


def _no_tick(n: int) -> None:
    pass


def map_shares(
    fn: Callable[[Iterator[list[T]], Tick, int], R],
    items: list[T],
    state: Any,
    *,
    jobs: int | None = None,
    chunk: int = 64,
    threshold: int = 256,
    progress: Callable[[int, int], None] | None = None,
    receive: Callable[[Any], None] | None = None,
) -> list[R]:
    """Call ``fn(chunks, tick, share)`` once in each of one worker process per core (``share`` is
    0, 1, ...), for work that keeps per-worker state from its first chunk to its last. Each worker
    takes the chunks of its own consecutive run of ``items`` in order, then helps with the others'
    (see :func:`_claimed`), so a faster worker takes more; ``tick(n)`` reports ``n`` items done,
    and :func:`post` hands a message to ``receive``, called in this process meanwhile (it may
    work on what the shares have finished while they go on). Returns the results in share
    order; a small job runs in this process, as share 0.
    """
    global _state, _ticks, _claim, _receive
    _state = state
    chunks = _chunked(items, chunk)
    jobs = min(jobs or os.cpu_count() or 1, max(1, len(chunks)))
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, len(items))

    if _in_process(len(items), threshold, jobs):
        _receive = receive
        try:
            return [fn(iter(chunks), tick, 0)]
        finally:
            _receive = None
    ctx, forked = _context()
    _mark_parent()
    _ticks = ctx.SimpleQueue() if progress is not None or receive is not None else None
    _claim = (ctx.Array("q", _segments(len(chunks), jobs)), chunks)
    pool = ctx.Pool(jobs, initializer=_init_share, initargs=(None, None, None) if forked else (state, _ticks, _claim))
    # The results come back as many small acyclic objects (a normalize run's outcomes): cyclic
    # collections while they are unpickled would only walk them and all this process holds, for a
    # third of the unpickling time. Switched back on at the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        pending = pool.map_async(_run_share, [(fn, k) for k in range(jobs)], chunksize=1)
        if _ticks is not None:
            finished = 0
            while finished < jobs:
                n = _ticks.get()
                if n is None:
                    finished += 1
                elif isinstance(n, tuple):
                    if receive is not None:
                        receive(n[1])
                else:
                    tick(n)
        results: list[R] = pending.get()
    except BaseException:
        pool.terminate()  # a failed receive (or ^C): the shares' work is no longer wanted
        raise
    finally:
        if collecting:
            gc.enable()
        pool.close()
        pool.join()
        _ticks = _claim = None
    return results


def _init_share(state: Any, ticks: Any, claim: Any) -> None:
    global _state, _ticks, _claim
    _die_with_parent()
    if state is not None:
        _state, _ticks, _claim = state, ticks, claim
