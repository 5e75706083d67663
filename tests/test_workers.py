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


def _posting(chunks, tick, share):  # type: ignore[no-untyped-def]
    from vaultsync.workers import post

    for chunk in chunks:
        post((share, os.getpid(), chunk[0]))
        tick(len(chunk))
    return share


def test_posted_messages_reach_receive_while_the_shares_run_in_process_and_in_workers() -> None:
    """Every message a share posts reaches ``receive`` in this process, once, from workers
    (another pid) and in-process alike."""
    from vaultsync.workers import map_shares

    items = list(range(64 * 10))
    for threshold, expect_other_pid in ((1, True), (10_000, False)):
        got: list[tuple[int, int, int]] = []
        shares = map_shares(_posting, items, None, jobs=2, chunk=64, threshold=threshold, receive=got.append)
        assert sorted(first for _, _, first in got) == items[::64]
        assert len(shares) == (2 if expect_other_pid else 1)
        assert all((pid != os.getpid()) is expect_other_pid for _, pid, _ in got)
