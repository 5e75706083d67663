"""Regressions from issue 14's fault-injection run: nothing lost, nothing outside the vault.

Each test reproduces one defect the run found, with real files, real processes and real HTTP.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import REPO, write_file
from vaultsync.api.local_host import LocalHost
from vaultsync.api.server import ApiServer
from vaultsync.config import NormalizeSettings, Settings, WatchSettings
from vaultsync.daemon.loop import Daemon
from vaultsync.daemon.state import read_status
from vaultsync.errors import OutsideVaultError
from vaultsync.fs.atomic import TEMP_SUFFIX, swap_files, temp_name, write_note_atomic
from vaultsync.fs.vault import Vault
from vaultsync.rewrite.normalize_files import WriteMode, normalize_vault
from vaultsync.store.indexing import Indexer, update_index

FM = "---\nvideoId: abcdefghijk\n---\n"
STAMP = '<a class="yt-timestamp" data-t="00:01:05">[00:01:05]</a>'
SECRET = "top secret text [[ a ]]\n"


@pytest.fixture
def outside_vault(tmp_path: Path) -> tuple[Path, Path]:
    """A vault with ``out.md`` symlinked to a note outside it, and ``ext/`` to a folder outside."""
    root = tmp_path / "vault"
    outside = tmp_path / "outside"
    write_file(root / "a.md", FM + f"[[ a ]] {STAMP}\n")
    write_file(outside / "secret.md", SECRET)
    (root / "out.md").symlink_to(outside / "secret.md")
    (root / "ext").symlink_to(outside, target_is_directory=True)
    write_file(root / "inner" / "x.md", "# x\n")
    (root / "inner" / "ext").symlink_to(outside, target_is_directory=True)
    return root, outside


# -- the one inside-the-vault rule ------------------------------------------------------------------


def test_real_path_refuses_every_way_out(outside_vault):
    root, _ = outside_vault
    vault = Vault(root)
    assert vault.real_path("a.md") == root.resolve() / "a.md"
    for uri in ("out.md", "ext/secret.md", "../outside/secret.md", "ext"):
        with pytest.raises(OutsideVaultError):
            vault.real_path(uri)
        with pytest.raises(OutsideVaultError):
            vault.read_text(uri)
        assert vault.stat(uri) is None
    with pytest.raises(OutsideVaultError):
        vault.write_text_atomic("out.md", "changed", expected=SECRET)


def test_walk_skips_symlinks_that_lead_out(outside_vault):
    root, _ = outside_vault
    walk = Vault(root).walk()
    assert set(walk.files) == {"a.md", "inner/x.md"}
    assert {d.uri for d in walk.diagnostics if d.code == "symlink-outside"} == {"out.md", "ext", "inner/ext"}


# -- API: leaving off .md no longer bypasses the check (defect 3) ------------------------------------


@pytest.fixture
def api_client(outside_vault):
    root, outside = outside_vault
    vault = Vault(root)
    index, _ = update_index(vault)
    # an index made before the symlinks were refused still lists them: the API must check anyway
    index.conn.execute(
        "INSERT OR IGNORE INTO files(id, uri, is_note, size, mtime_ns, ctime_ns, inode) VALUES(99, 'out.md', 1, 1, 1, 1, 1)"
    )
    index.conn.execute("INSERT OR IGNORE INTO occurrences(id) VALUES(99)")
    indexer = Indexer(vault, index)
    server = ApiServer(LocalHost(vault, Settings(), indexer), port=0).start()
    token = json.loads((root / ".vaultsync" / "api.json").read_text())["token"]

    def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        reply = resp.status, json.loads(resp.read() or b"{}")
        conn.close()
        return reply

    yield call, outside
    server.stop()
    index.close()


def test_api_refuses_a_symlink_out_named_without_md(api_client):
    call, outside = api_client
    for path in ("/notes/out/links", "/notes/out/backlinks", "/notes/out/unresolved", "/notes/links?path=out"):
        status, body = call("GET", path)
        assert status in (400, 404), (path, status, body)
        assert SECRET not in json.dumps(body)
    for write in (False, True):
        status, body = call("POST", "/normalize", {"path": "out", "write": write})
        assert status in (400, 404), (status, body)
        assert "secret" not in json.dumps(body)
    assert (outside / "secret.md").read_text() == SECRET


def test_api_rename_does_not_move_a_folder_symlinked_from_outside(api_client):
    call, outside = api_client
    status, body = call("POST", "/rename", {"from": "ext", "to": "moved"})
    assert status in (400, 404, 422), (status, body)
    assert (outside / "secret.md").read_text() == SECRET
    # a folder holding a symlink out: its own notes move, the outside files stay where they are
    status, body = call("POST", "/rename", {"from": "inner", "to": "moved"})
    assert (outside / "secret.md").read_text() == SECRET
    assert not (outside.parent / "vault" / "moved" / "ext" / "secret.md").is_file() or (
        (outside.parent / "vault" / "moved" / "ext").is_symlink()
    )


# -- the atomic write never loses a save (defect 2) ------------------------------------------------


def test_write_keeps_a_save_made_while_it_works(tmp_path):
    """The user's save lands at any moment while write_note_atomic works (after the caller read
    the note): it must win. Deterministic: a tracer saves at the k-th line the write runs, for
    every k, whatever mechanism the write uses."""
    import vaultsync.fs.atomic as atomic_module

    note = tmp_path / "n.md"
    lines_run = 0
    for k in range(1, 200):
        write_file(note, "old")
        count = 0
        saved: list[str] = []

        def tracer(frame, event, arg, k=k, saved=saved):
            nonlocal count
            if frame.f_code.co_filename != atomic_module.__file__:
                return None
            if event == "line":
                count += 1
                if count == k and not saved:
                    tmp = tmp_path / ".editor-save"
                    tmp.write_text(f"user save {k}")
                    os.replace(tmp, note)  # an editor's atomic-rename save
                    saved.append(f"user save {k}")
            return tracer

        sys.settrace(tracer)
        try:
            write_note_atomic(note, "n.md", "normalized", expected="old")
        finally:
            sys.settrace(None)
        if not saved:
            lines_run = count
            break
        assert note.read_text() == saved[0], f"a save at line {k} of the write was lost"
    assert lines_run > 5  # the tracer really walked the whole write
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_swap_is_available_here_or_says_so(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("A")
    b.write_text("B")
    result = swap_files(a, b)
    if result is None:
        pytest.skip("no atomic swap on this system: the write falls back to check-then-replace")
    assert (a.read_text(), b.read_text()) == ("B", "A")
    assert swap_files(a, tmp_path / "missing") is False


# -- long names (defect 5) --------------------------------------------------------------------------


def test_temp_names_are_short_whatever_the_note():
    assert len(temp_name().encode()) == 27


def test_notes_with_names_near_the_limit_are_normalized(tmp_path):
    root = tmp_path / "vault"
    long_name = "n" * 246 + ".md"  # 249 bytes: the old temp name (name + 23 bytes) did not fit
    write_file(root / long_name, FM + f"{STAMP} [[ other ]]\n")
    write_file(root / "other.md", FM + f"{STAMP}\n")
    report = normalize_vault(Vault(root), NormalizeSettings())
    assert report.files_changed == 2, report.diagnostics
    assert "[01:05](" in (root / long_name).read_text()


# -- odd files while the daemon runs (defects 4, 5, 6) ----------------------------------------------


def _run_daemon(root: Path) -> tuple[Daemon, threading.Thread]:
    settings = Settings(watch=WatchSettings(quiet_ms=50, max_wait_ms=300))
    daemon = Daemon(Vault(root), settings)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while read_status(Vault(root)).get("state") != "watching":
        assert time.monotonic() < deadline, "daemon did not start"
        time.sleep(0.05)
    return daemon, thread


def _wait_for(predicate, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_daemon_keeps_serving_beside_fifos_sockets_long_and_nfd_names(tmp_path):
    root = tmp_path / "vault"
    write_file(root / "a.md", FM + "start\n")
    daemon, thread = _run_daemon(root)
    sock = None
    try:
        os.mkfifo(root / "x.md")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(root / "s.md"))
        (root / "d.md").mkdir()
        long_name = "l" * 246 + ".md"
        write_file(root / long_name, FM + f"{STAMP}\n")
        nfd = unicodedata.normalize("NFD", "Café.md")
        write_file(root / nfd, FM + f"{STAMP}\n")
        time.sleep(0.5)
        write_file(root / "a.md", FM + f"saved {STAMP}\n")
        assert _wait_for(lambda: "[01:05](" in (root / "a.md").read_text()), "the next save was not normalized"
        assert _wait_for(lambda: "[01:05](" in (root / long_name).read_text())
        assert _wait_for(lambda: "[01:05](" in (root / nfd).read_text()), "the NFD-named note was not normalized"
        assert _wait_for(lambda: daemon.indexer is not None and "Café.md" in daemon.indexer.stored)
    finally:
        daemon.stop()
        thread.join(timeout=10)
        if sock is not None:
            sock.close()
    assert not thread.is_alive(), "the daemon did not stop"


# -- a killed normalize (defect 9) ------------------------------------------------------------------


@pytest.mark.slow
def test_killed_normalize_leaves_no_writers_and_no_temp_files(tmp_path):
    root = tmp_path / "vault"
    body = FM + "".join(f'<a class="yt-timestamp" data-t="00:{m:02d}:{s:02d}">[x]</a> [[ n{m} ]]\n' for m in range(60) for s in range(0, 60, 6))
    for i in range(1200):
        write_file(root / f"f{i // 100}" / f"n{i:04d}.md", body)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultsync", "normalize", str(root)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    notes = sorted(root.rglob("*.md"))
    try:
        assert _wait_for(lambda: any("](https" in p.read_text() for p in notes[:50] + notes[600:650]), 60)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as a crash would
        proc.wait(timeout=10)
        time.sleep(0.5)
        before = {p: p.stat().st_mtime_ns for p in notes}
        time.sleep(2)
        after = {p: p.stat().st_mtime_ns for p in notes}
        assert before == after, "workers went on writing after their parent died"
    finally:
        with_suppressed_kill(proc)
    # the next run removes the temp files of the killed one (its writers are dead) and finishes the job
    normalize_vault(Vault(root), NormalizeSettings())
    assert not list(root.rglob(f"*{TEMP_SUFFIX}"))
    assert normalize_vault(Vault(root), NormalizeSettings(), WriteMode.CHECK).files_changed == 0


def with_suppressed_kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def test_rename_to_a_name_near_the_limit_updates_every_link(tmp_path):
    """Regression: a 240-byte new name left most linking notes pointing at the old one (their
    temp files' names did not fit)."""
    from vaultsync.rewrite.move_files import move_files, plan_moves

    root = tmp_path / "vault"
    write_file(root / "target.md", "# T\n")
    for i in range(23):
        write_file(root / f"{'s' * 235}{i:02d}.md", "see [[target]] and [[target|the target]]\n")
    vault = Vault(root)
    index, _ = update_index(vault)
    new = "t" * 237 + ".md"  # 240 bytes
    report = move_files(vault, Indexer(vault, index), plan_moves(vault, index, "target.md", new))
    index.close()
    assert not report.diagnostics, report.diagnostics
    assert len(report.notes_updated) == 23
    for i in range(23):
        assert f"[[{new[:-3]}]]" in (root / f"{'s' * 235}{i:02d}.md").read_text()


def test_clients_sending_their_headers_slowly_hold_no_thread(api_client):
    """Regression (issue 14): half-sent request heads held every worker until their timeout, so
    a probe got 503 meanwhile. The accept loop now reads heads as they arrive."""
    call, _ = api_client
    before = threading.active_count()
    status, _ = call("GET", "/status")
    assert status == 200
    server_port = _api_port(call)
    socks = []
    try:
        for _ in range(80):  # more than the worker pool
            s = socket.create_connection(("127.0.0.1", server_port))
            s.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
        time.sleep(0.3)
        status, _ = call("GET", "/status")
        assert status == 200
        assert threading.active_count() - before <= 64
    finally:
        for s in socks:
            s.close()


def _api_port(call) -> int:
    for cell in call.__closure__ or ():
        value = cell.cell_contents
        if isinstance(value, ApiServer):
            return value.port
    raise AssertionError("no server in the client")
