"""The worker pool (vaultsync.workers): worker processes from the main thread only, results in
order when asked. Real processes: a pid says where a chunk ran."""

from __future__ import annotations

import os
import threading

from vaultsync import map_chunks, worker_state


def _where(chunk: list[int]) -> list[tuple[int, int, int]]:
    return [(item, os.getpid(), worker_state()) for item in chunk]


def test_a_job_from_the_main_thread_runs_in_workers_in_order_when_asked() -> None:
    items = list(range(40))
    out = list(map_chunks(_where, items, 7, jobs=2, chunk=3, threshold=1, ordered=True))
    assert [item for item, _, _ in out] == items
    assert {state for _, _, state in out} == {7}
    assert os.getpid() not in {pid for _, pid, _ in out}


def test_a_job_from_another_thread_never_forks() -> None:
    """The API server runs exports on its job threads: forking there could copy a held lock."""
    out: list[tuple[int, int, int]] = []
    thread = threading.Thread(target=lambda: out.extend(map_chunks(_where, list(range(40)), 7, jobs=2, chunk=3, threshold=1)))
    thread.start()
    thread.join()
    assert sorted(item for item, _, _ in out) == list(range(40))
    assert {pid for _, pid, _ in out} == {os.getpid()}
