"""The sync daemon with real watchdog events on temp vaults (slow; bounded waits, no fixed sleeps)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import write_file

from vaultsync.config import Settings, WatchSettings
from vaultsync.daemon.loop import BatchReport, Daemon, Hooks
from vaultsync.fs.vault import Vault
from vaultsync.store.indexing import open_index, rebuild_index
from vaultsync.text.normalize import NormalizeContext, normalize_text

pytestmark = pytest.mark.slow

ANCHOR = '<a class="yt-timestamp" data-t="00:01:02">[00:01:02]</a>'
CANONICAL = "[01:02](https://www.youtube.com/watch?v=AbCdEfGhIjK&t=62s)"


def note(body: str, video: str = "AbCdEfGhIjK") -> str:
    return f"---\ntitle: t\nvideoId: {video}\n---\n{body}\n"


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Running:
    """A daemon on a thread of this process, with its batch reports and writes recorded."""

    def __init__(self, root: Path, settings: Settings, before_write: Callable[[str], None] | None = None) -> None:
        self.reports: list[BatchReport] = []
        self.writes: Counter[str] = Counter()

        def count_write(uri: str) -> None:
            self.writes[uri] += 1
            if before_write:
                before_write(uri)

        self.daemon = Daemon(Vault(root), settings, Hooks(before_write=count_write, after_batch=self.reports.append))
        self.thread = threading.Thread(target=self.daemon.run, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        wait_for(lambda: self.daemon.state == "watching", what="the daemon to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.daemon.stop()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()

    def settle(self, quiet_s: float = 0.6) -> None:
        """Wait until no batch has run for ``quiet_s`` and the queue is empty."""
        def quiet() -> bool:
            with self.daemon.pause:  # not in the middle of a batch
                last = self.reports[-1].finished_at if self.reports else 0
                return len(self.daemon.queue) == 0 and time.time() - last > quiet_s

        wait_for(quiet, what="the daemon to settle")


@pytest.fixture
def settings() -> Settings:
    return Settings(watch=WatchSettings(quiet_ms=50, max_wait_ms=500, rescan_s=3600))


@pytest.fixture
def running(make_vault, settings) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(files: dict[str, str], **kwargs: object) -> Running:
        run = Running(make_vault(files), settings, **kwargs)  # type: ignore[arg-type]
        started.append(run.__enter__())
        return run

    yield start
    for run in started:
        run.__exit__()


def read(root: Path, uri: str) -> str:
    return (root / uri).read_text(encoding="utf-8")


def test_a_save_with_anchors_gets_normalized_and_indexed(running):
    run = running({"a.md": note("start"), "target_note.md": note("t")})
    root = run.daemon.vault.root
    write_file(root / "a.md", note(f"saved [[ Target Note ]] {ANCHOR}"))
    wait_for(lambda: CANONICAL in read(root, "a.md"), what="normalization")
    assert read(root, "a.md") == note(f"saved [[target_note|Target Note]] {CANONICAL}")
    run.settle()
    assert run.writes["a.md"] == 1  # our own write came back as an echo, not as a second save
    assert any(r.echoes for r in run.reports)
    links = run.daemon.index.links_from("a.md")
    assert links[0]["dest"] == "target_note.md"


def test_a_rename_updates_the_links(running):
    run = running({"x/old_name.md": note("n"), "a.md": note("see [[old_name]] and [[old_name|alias]]")})
    root = run.daemon.vault.root
    os.rename(root / "x/old_name.md", root / "x/new_name.md")
    wait_for(lambda: "[[new_name]]" in read(root, "a.md"), what="the link update")
    assert read(root, "a.md") == note("see [[new_name]] and [[new_name|alias]]")
    run.settle()
    assert [b["source"] for b in run.daemon.index.backlinks("x/new_name.md")] == ["a.md", "a.md"]


@pytest.mark.parametrize(
    "link_format, expected",
    [("shortest", "[[n|N]] ![[m]]"), ("absolute", "[[new/n|N]] ![[new/m]]")],
    ids=["shortest", "absolute"],
)
def test_a_folder_move_updates_links_in_the_vaults_link_format(running, link_format, expected):
    run = running(
        {
            ".obsidian/app.json": json.dumps({"newLinkFormat": link_format}),
            "old/n.md": note("n"),
            "old/m.md": note("[[n]]"),
            "a.md": note("[[old/n|N]] ![[old/m]]"),
        }
    )
    root = run.daemon.vault.root
    os.rename(root / "old", root / "new")
    wait_for(lambda: "old/" not in read(root, "a.md"), what="the link update")
    assert read(root, "a.md") == note(expected)
    assert read(root, "new/m.md") == note("[[n]]")  # still resolves the same: untouched
    run.settle()
    assert [b["source"] for b in run.daemon.index.backlinks("new/n.md")] == ["a.md", "new/m.md"]


def test_a_git_checkout_of_500_files_is_one_reconcile_without_a_storm(make_vault, settings):
    root = make_vault({f"notes/n{i:03}.md": note(f"plain {i}") for i in range(500)})
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)

    git("init", "-q", "-b", "main")
    git("add", "notes")
    git("commit", "-qm", "plain")
    git("checkout", "-q", "-b", "anchors")
    for i in range(500):
        (root / f"notes/n{i:03}.md").write_text(note(f"plain {i} {ANCHOR}"))
    git("commit", "-qam", "anchors")
    git("checkout", "-q", "main")
    # a checkout writes without pause: the quiet gap closes the batch once it is done
    settings = Settings(watch=WatchSettings(quiet_ms=300, max_wait_ms=10_000, rescan_s=3600))
    with Running(root, settings) as run:
        run.settle()
        run.reports.clear()
        git("checkout", "-q", "anchors")  # 500 files change at once
        wait_for(lambda: all(CANONICAL in read(root, f"notes/n{i:03}.md") for i in range(500)), 30, "all 500 normalized")
        run.settle(1.0)
        assert max(run.writes.values()) == 1 and len(run.writes) == 500  # each note written once
        reconciles = [r for r in run.reports if r.reconciled]
        assert len(reconciles) == 1
        assert sum(r.normalized for r in run.reports) == 500  # the echoes of our writes changed nothing


def test_the_users_save_between_our_read_and_write_wins(running):
    user_text = note(f"the user typed this {ANCHOR}")

    def users_save(uri: str) -> None:
        if uri == "a.md" and "typed" not in read(root, "a.md"):
            write_file(root / "a.md", user_text)

    run = running({"a.md": note("start")}, before_write=users_save)
    root = run.daemon.vault.root
    write_file(root / "a.md", note(f"first save {ANCHOR}"))
    wait_for(lambda: "typed" in read(root, "a.md") and CANONICAL in read(root, "a.md"), what="the user's save")
    run.settle()
    assert read(root, "a.md") == note(f"the user typed this {CANONICAL}")  # never our version of "first save"


def test_startup_reconciles_changes_made_while_off(make_vault, settings):
    root = make_vault({"a.md": note("[[old]]"), "old.md": note("o"), "b.md": note("bbbbbbbb " + ANCHOR)})
    index, _ = rebuild_index(Vault(root))
    index.close()
    os.rename(root / "old.md", root / "renamed.md")  # a rename while the daemon was off
    path = root / "b.md"
    before = path.stat()
    path.write_text(note("cccccccc " + ANCHOR))  # same size, mtime put back
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    run = Running(root, settings)
    with run:
        run.settle()
        assert read(root, "a.md") == note("[[renamed]]")
        assert read(root, "b.md") == note("cccccccc " + CANONICAL)
        assert run.reports[0].reconciled and run.reports[0].moved == 1


def _daemon_process(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vaultsync", "watch", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_watching(root: Path) -> None:
    def watching() -> bool:
        try:
            return json.loads((root / ".vaultsync/daemon.json").read_text()).get("state") == "watching"
        except (OSError, ValueError):
            return False

    wait_for(watching, 30, "the daemon process to watch")


def test_one_daemon_per_vault_and_sigterm_exits_0(make_vault):
    root = make_vault({"a.md": note("x")})
    first = _daemon_process(root)
    try:
        _wait_watching(root)
        second = subprocess.run([sys.executable, "-m", "vaultsync", "watch", str(root)], capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"already watching this vault (pid {first.pid})" in second.stderr
        status = json.loads(subprocess.run([sys.executable, "-m", "vaultsync", "status", str(root), "--json"], capture_output=True, text=True).stdout)
        assert status["running"] and status["pid"] == first.pid and status["notes"] == 1
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    status = json.loads(subprocess.run([sys.executable, "-m", "vaultsync", "status", str(root), "--json"], capture_output=True, text=True).stdout)
    assert status["running"] is False
    assert "stopped" in (root / ".vaultsync/daemon.log").read_text()


def test_kill_9_mid_batch_then_restart_loses_nothing(make_vault):
    count = 400
    originals = {f"n{i:03}.md": note(f"note {i} " + " ".join([ANCHOR] * 40)) for i in range(count)}
    root = make_vault({"seed.md": note("x")})
    proc = _daemon_process(root)
    try:
        _wait_watching(root)
        for uri, text in originals.items():
            (root / uri).write_text(text)
        wait_for(lambda: any(CANONICAL in read(root, u) for u in originals), 30, "the batch to start writing")
        proc.kill()  # SIGKILL in the middle of the batch
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    uris = list(originals)
    ctx = NormalizeContext.for_vault([*uris, "seed.md"], "")
    expected = {u: normalize_text(t, ctx.for_note(u)).text for u, t in originals.items()}
    for uri in uris:
        assert read(root, uri) in (originals[uri], expected[uri]), uri  # old or new, never torn
    proc = _daemon_process(root)
    try:
        _wait_watching(root)
        wait_for(lambda: all(read(root, u) == expected[u] for u in uris), 60, "the restart to finish the work")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert not [p for p in root.rglob("*") if p.name.endswith(".vaultsync-tmp")]
    index = open_index(Vault(root))
    assert index is not None and sorted(index.uris()) == sorted([*uris, "seed.md"])
    live = {(r[0], r[3], r[6]) for r in index.link_rows()}
    fresh, _ = rebuild_index(Vault(root))
    assert live == {(r[0], r[3], r[6]) for r in fresh.link_rows()}


def test_service_install_writes_a_systemd_unit(tmp_path):
    from vaultsync.daemon.service import install_service

    service = install_service(tmp_path, system="Linux", home=tmp_path / "home")
    assert service.path.parent == tmp_path / "home/.config/systemd/user"
    assert "ExecStart=" in service.text and "watch" in service.text
    plist = install_service(tmp_path, system="Darwin", home=tmp_path / "home")
    assert plist.path.suffix == ".plist" and "<string>watch</string>" in plist.text


def test_notes_excluded_by_user_ignore_filters_are_indexed_but_not_rewritten(running):
    template = note(f"[[ {{{{title}}}} ]] {ANCHOR}", video="{{videoId}}")
    run = running({".obsidian/app.json": '{"userIgnoreFilters": ["templates/"]}', "a.md": note("x")})
    root = run.daemon.vault.root
    write_file(root / "templates/t.md", template)
    write_file(root / "a.md", note(f"saved {ANCHOR}"))
    wait_for(lambda: CANONICAL in read(root, "a.md"), what="the other save")
    run.settle()
    assert read(root, "templates/t.md") == template
    assert "templates/t.md" in run.daemon.indexer.stored


def test_the_daemon_lock_waits_out_a_status_probe_but_not_a_running_daemon(tmp_path):
    """`vaultsync status` probes the lock with a shared lock for a moment; a daemon starting just
    then must still start (it failed with "already watching ... (another process)"). A lock held
    by a running daemon is refused."""
    import fcntl

    from vaultsync.daemon.state import LOCK_NAME, DaemonRunningError, vault_lock

    root = tmp_path / "vault"
    write_file(root / "a.md", "x\n")
    vault = Vault(root)
    vault.state_dir.mkdir(exist_ok=True)
    probe = os.open(vault.state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(probe, fcntl.LOCK_SH)
    releaser = threading.Timer(0.1, lambda: fcntl.flock(probe, fcntl.LOCK_UN))
    releaser.start()
    with vault_lock(vault):
        pass
    releaser.join()
    fcntl.flock(probe, fcntl.LOCK_EX)  # a daemon's hold
    try:
        with pytest.raises(DaemonRunningError), vault_lock(vault):
            pass
    finally:
        os.close(probe)
