"""Git replication with real git: a bare remote and two clones (laptop, desktop) in tmp_path."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_file
from test_daemon import Running, wait_for

from vaultsync.config import GitSettings, Settings, WatchSettings, load_settings
from vaultsync.errors import ConfigError, GitError
from vaultsync.sync.cycle import (
    CONFLICT_RE,
    run_git,
    setup_repository,
    sync_status,
    sync_vault,
)

pytestmark = pytest.mark.slow

SETTINGS = GitSettings()
ANCHOR = '<a class="yt-timestamp" data-t="00:01:02">[00:01:02]</a>'


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the identity and keep the user's git configuration out (inherited by subprocesses)."""
    for name in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{name}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{name}_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def lines(text: str) -> str:
    return "".join(f"line {i}: {text if i == 7 else 'unchanged words of a video note'}\n" for i in range(20))


@pytest.fixture
def git_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    return remote


@pytest.fixture
def clones(tmp_path: Path, git_remote: Path) -> tuple[Path, Path]:
    """Two vaults syncing through ``git_remote``, both holding the same three notes."""
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    for name, text in {"a.md": lines("a"), "b.md": lines("b"), "folder/n.md": lines("n")}.items():
        write_file(laptop / name, text)
    desktop.mkdir()
    setup_repository(laptop, str(git_remote), SETTINGS)
    sync_vault(laptop, SETTINGS)
    setup_repository(desktop, str(git_remote), SETTINGS)
    sync_vault(desktop, SETTINGS)
    return laptop, desktop


def notes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.md") if ".git" not in p.parts}


def assert_no_markers(*roots: Path) -> None:
    for root in roots:
        for uri, text in notes(root).items():
            assert "<<<<<<<" not in text and ">>>>>>>" not in text, uri


def assert_clean(root: Path) -> None:
    gd = root / ".git"
    assert not (gd / "rebase-merge").exists() and not (gd / "rebase-apply").exists() and not (gd / "index.lock").exists()
    assert git(root, "status", "--porcelain") == ""


# -- the wrapper -----------------------------------------------------------------------------------


def test_a_failing_git_command_raises_a_readable_error(tmp_path):
    with pytest.raises(GitError) as info:
        run_git(tmp_path, ["rev-parse", "--verify", "no-such-ref"])
    err = info.value
    assert err.cmd == ("git", "rev-parse", "--verify", "no-such-ref") and err.returncode == 128
    assert "not a git repository" in err.stderr
    assert "command: git rev-parse" in str(err) and "return code: 128" in str(err)


def test_git_env_from_a_hook_does_not_leak_into_our_commands(clones, monkeypatch, tmp_path):
    laptop, _ = clones
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "elsewhere-index"))
    assert run_git(laptop, ["rev-parse", "--show-toplevel"]).stdout.strip() == str(laptop)


def test_git_settings_are_validated_all_at_once(tmp_path):
    (tmp_path / ".vaultsync.toml").write_text('[git]\nremote = ""\npush = "yes"\nmax-delete-share = 2\npull-interval-s = 60\n')
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    message = str(info.value)
    assert "git.remote" in message and "git.push" in message and "git.max-delete-share" in message
    (tmp_path / ".vaultsync.toml").write_text("[git]\npull-interval-s = 60\ncommit-debounce-s = 5\n")
    assert load_settings(tmp_path).git == GitSettings(pull_interval_s=60.0, commit_debounce_s=5.0)
    (tmp_path / ".vaultsync.toml").write_text("[watch]\nquiet-ms = 50\n")
    assert load_settings(tmp_path).git is None  # no [git]: the daemon does not sync


# -- set-up ----------------------------------------------------------------------------------------


def test_sync_remote_sets_up_a_vault_and_never_commits_its_state(tmp_path, git_remote):
    vault = tmp_path / "vault"
    write_file(vault / "a.md", "# a\n")
    write_file(vault / ".obsidian/workspace.json", "{}")
    write_file(vault / ".obsidian/app.json", "{}")
    write_file(vault / ".trash/old.md", "gone\n")
    subprocess.run([sys.executable, "-m", "vaultsync", "scan", str(vault)], check=True, capture_output=True)
    assert (vault / ".vaultsync/index.sqlite").exists()
    proc = subprocess.run(
        [sys.executable, "-m", "vaultsync", "sync", str(vault), "--remote", str(git_remote), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pushed"] is True
    assert (vault / ".gitignore").read_text().splitlines() == [".obsidian/workspace*", ".trash/", ".vaultsync/"]
    pushed = set(git(git_remote, "ls-tree", "-r", "--name-only", "main").splitlines())
    assert pushed == {".gitignore", ".obsidian/app.json", "a.md"}
    status = json.loads(subprocess.run([sys.executable, "-m", "vaultsync", "status", str(vault), "--json"],
                                       capture_output=True, text=True, check=True).stdout)  # fmt: skip
    assert status["sync"]["ahead"] == 0 and status["sync"]["behind"] == 0 and status["sync"]["last_sync"]


# -- two machines ----------------------------------------------------------------------------------


def test_different_notes_edited_on_both_sides_reach_both(clones):
    laptop, desktop = clones
    write_file(laptop / "a.md", lines("laptop's edit"))
    write_file(desktop / "b.md", lines("desktop's edit"))
    first = sync_vault(laptop, SETTINGS)
    assert first.committed == {"modified": 1} and first.pushed
    second = sync_vault(desktop, SETTINGS)
    assert second.integrated == "rebase" and second.changed == ["a.md"] and second.pushed
    sync_vault(laptop, SETTINGS)
    assert notes(laptop) == notes(desktop)
    assert "laptop's edit" in (desktop / "a.md").read_text() and "desktop's edit" in (laptop / "b.md").read_text()
    assert git(laptop, "log", "-1", "--format=%s", "HEAD~1").startswith("vaultsync: 1 modified on ")
    for root in clones:
        assert_clean(root)
    assert git(laptop, "rev-parse", "HEAD") == git(desktop, "rev-parse", "HEAD")


def test_the_same_line_edited_on_both_sides_gives_a_conflict_copy_without_markers(clones):
    laptop, desktop = clones
    write_file(laptop / "folder/n.md", lines("the laptop's words"))
    write_file(desktop / "folder/n.md", lines("the desktop's words"))
    sync_vault(laptop, SETTINGS)
    report = sync_vault(desktop, SETTINGS)
    assert report.integrated == "merge" and len(report.conflicts) == 1 and report.pushed
    copy = report.conflicts[0]
    assert copy.startswith("folder/n (conflict ") and copy.endswith(").md") and CONFLICT_RE.search(copy)
    assert (desktop / "folder/n.md").read_text() == lines("the desktop's words")  # the local version stays in place
    assert (desktop / copy).read_text() == lines("the laptop's words")  # the remote one beside it
    sync_vault(laptop, SETTINGS)
    assert notes(laptop) == notes(desktop)
    assert_no_markers(laptop, desktop)
    for root in clones:
        assert_clean(root)
        status = sync_status(root, SETTINGS)
        assert status is not None and status["conflicts"] == [copy] and (status["ahead"], status["behind"]) == (0, 0)


@pytest.mark.parametrize("first", ["delete", "edit"], ids=["delete-synced-first", "edit-synced-first"])
def test_delete_on_one_side_and_edit_on_the_other_keeps_the_edit(clones, first):
    laptop, desktop = clones
    (laptop / "b.md").unlink()
    write_file(desktop / "b.md", lines("an edit worth keeping"))
    order = [laptop, desktop] if first == "delete" else [desktop, laptop]
    for root in [*order, order[0]]:
        sync_vault(root, SETTINGS)
    for root in clones:
        assert (root / "b.md").read_text() == lines("an edit worth keeping")
        assert_clean(root)
    assert notes(laptop) == notes(desktop)
    assert_no_markers(laptop, desktop)


@pytest.mark.parametrize("first", ["rename", "edit"], ids=["rename-synced-first", "edit-synced-first"])
def test_rename_on_one_side_and_edit_on_the_other_ends_in_the_renamed_note(clones, first):
    laptop, desktop = clones
    (laptop / "folder/n.md").rename(laptop / "renamed.md")
    write_file(desktop / "folder/n.md", lines("an edit during the rename"))
    order = [laptop, desktop] if first == "rename" else [desktop, laptop]
    for root in [*order, order[0]]:
        sync_vault(root, SETTINGS)
    for root in clones:
        assert (root / "renamed.md").read_text() == lines("an edit during the rename")
        assert not (root / "folder/n.md").exists()
        assert_clean(root)
    assert_no_markers(laptop, desktop)


def test_a_mass_deletion_is_not_pushed(clones, git_remote):
    laptop, desktop = clones
    for i in range(40):
        write_file(laptop / f"bulk/n{i:02}.md", f"note {i}\n")
    sync_vault(laptop, SETTINGS)
    for i in range(30):
        (laptop / f"bulk/n{i:02}.md").unlink()
    report = sync_vault(laptop, SETTINGS)
    assert report.blocked and "30 of the remote's 43 notes" in report.blocked and not report.pushed
    assert len([p for p in git(git_remote, "ls-tree", "-r", "--name-only", "main").splitlines() if p.endswith(".md")]) == 43
    assert sync_status(laptop, SETTINGS)["blocked"] == report.blocked
    proc = subprocess.run([sys.executable, "-m", "vaultsync", "sync", str(laptop)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "push refused" in proc.stderr and "hint:" in proc.stderr
    assert sync_vault(laptop, SETTINGS, allow_deletions=True).pushed
    sync_vault(desktop, SETTINGS)
    assert len(list((desktop / "bulk").iterdir())) == 10


# -- faults ----------------------------------------------------------------------------------------

HOOK = """#!/bin/sh
# stall inside the rebase so the test can kill the cycle there
if [ -d .git/rebase-merge ]; then touch "{marker}"; sleep 60; fi
"""


def test_kill_9_in_the_middle_of_a_rebase_then_restart_loses_nothing(clones, tmp_path, git_remote):
    laptop, desktop = clones
    write_file(desktop / "b.md", lines("desktop's edit"))
    sync_vault(desktop, SETTINGS)
    write_file(laptop / "a.md", lines("laptop's edit"))
    marker = tmp_path / "in-rebase"
    hook = laptop / ".git/hooks/post-commit"
    hook.write_text(HOOK.format(marker=marker))
    hook.chmod(0o755)
    cmd = [sys.executable, "-m", "vaultsync", "sync", str(laptop)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(marker.exists, 30, "the cycle to reach the rebase")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the cycle and its git children
        proc.wait(timeout=10)
    assert (laptop / ".git/rebase-merge").is_dir()  # killed mid-rebase
    local_commit = git(laptop, "rev-parse", "main").strip()
    assert "laptop's edit" in git(laptop, "show", f"{local_commit}:a.md")
    (laptop / ".git/index.lock").write_text("")  # and as if a git write had died too
    hook.unlink()
    restart = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert restart.returncode == 0, restart.stderr
    recovered = [line for line in restart.stderr.splitlines() if "recovered" in line]  # one line per repair
    assert any("stale index.lock" in line for line in recovered)
    assert any("aborted an interrupted rebase" in line for line in recovered)
    assert_clean(laptop)
    sync_vault(desktop, SETTINGS)
    for root in clones:
        assert "laptop's edit" in (root / "a.md").read_text() and "desktop's edit" in (root / "b.md").read_text()
    assert_no_markers(laptop, desktop)


def test_the_daemon_indexes_a_pull_of_2000_files_without_rewriting_them(clones):
    laptop, desktop = clones
    # the desktop has no normalizer: its notes carry raw anchors the laptop's daemon would rewrite
    for i in range(2000):
        (desktop / f"pulled/p{i:04}.md").parent.mkdir(exist_ok=True)
        (desktop / f"pulled/p{i:04}.md").write_text(f"---\nvideoId: AbCdEfGhIjK\n---\nnote {i} {ANCHOR} [[a]]\n")
    sync_vault(desktop, SETTINGS)
    settings = Settings(
        watch=WatchSettings(quiet_ms=50, max_wait_ms=500, rescan_s=3600),
        git=GitSettings(pull_interval_s=3600, commit_debounce_s=0.2),
    )
    with Running(laptop, settings) as run:
        wait_for(lambda: run.daemon.last_sync is not None, 60, "the first sync")
        assert run.daemon.last_sync.integrated == "fast-forward" and len(run.daemon.last_sync.changed) == 2000
        wait_for(lambda: sum(r.echoes for r in run.reports) >= 2000, 30, "the pull's file events")
        run.settle(1.0)
        assert sum(run.writes.values()) == 0  # not one rewrite
        assert sum(r.normalized for r in run.reports) == 0 and sum(r.echoes for r in run.reports) == 2000
        assert len(run.daemon.index.backlinks("a.md")) == 2000
        assert ANCHOR in (laptop / "pulled/p1234.md").read_text()
        # a save by the user afterwards is still normalized, committed after the quiet period and pushed
        write_file(laptop / "pulled/p0001.md", f"---\nvideoId: AbCdEfGhIjK\n---\nmy edit {ANCHOR}\n")
        wait_for(lambda: run.writes["pulled/p0001.md"] == 1, 15, "the user's save to be normalized")
        wait_for(lambda: git(laptop, "status", "--porcelain") == "" and git(laptop, "rev-list", "--count", "origin/main..HEAD").strip() == "0"
                 and "my edit" in git(laptop, "show", "origin/main:pulled/p0001.md"), 30, "the save to be pushed")  # fmt: skip
    assert sum(run.writes.values()) == 1


# -- a sync killed at each step of git's work --------------------------------------------------------

STEP_HOOK = """#!/bin/sh
# installed as reference-transaction and post-index-change: stall git at one step of the cycle
refs=$(cat)
if [ -n "{edit_src}" ] && [ ! -e "{edit_done}" ] && [ "$1" = committed ] && echo "$refs" | grep -q ' refs/remotes/origin/'; then
  cp "{edit_src}" "{edit_dst}"; touch "{edit_done}"  # the user saves a note while the cycle fetches
fi
if [ ! -e "{marker}" ] && {when}; then touch "{marker}"; sleep 60; fi
"""

# when git, in the cycle's `rebase --autostash`, ...
STEPS = {
    # has stashed the user's edit and reset the tree, before it checks out upstream
    "autostash-made": '[ "$0" = .git/hooks/post-index-change ] && [ -f .git/rebase-merge/autostash ] && [ ! -f .git/rebase-merge/onto ] && [ "$1" = 1 ]',
    # has checked out upstream and holds HEAD.lock to detach HEAD there (the reported kill)
    "checkout-upstream": '[ "$1" = prepared ] && [ -f .git/rebase-merge/onto ] && echo "$refs" | grep -q " HEAD$"',
    # has picked the local commits and holds the branch's lock to move it
    "branch-update": '[ "$1" = prepared ] && [ -d .git/rebase-merge ] && echo "$refs" | grep -q " refs/heads/main$"',
    # has moved the branch, before it applies the autostash
    "before-autostash-apply": '[ "$1" = committed ] && [ -d .git/rebase-merge ] && echo "$refs" | grep -q " refs/heads/main$"',
    # is applying the autostash (the branch moved, HEAD back on it)
    "autostash-apply": '[ "$0" = .git/hooks/post-index-change ] && [ -f .git/rebase-merge/orig-head ] && [ "$1" = 1 ] && grep -q "^ref:" .git/HEAD'
                       ' && [ "$(git rev-parse -q --verify refs/heads/main)" != "$(cat .git/rebase-merge/orig-head)" ]',
}


def kill_sync_at(root: Path, tmp_path: Path, step: str, edit: tuple[str, str] | None = None) -> None:
    """Run `vaultsync sync` in its own process group and SIGKILL the group when git reaches
    ``step`` (see STEPS; the hook stalls git there, its locks and state as they are). With
    ``edit`` (path, text), the user saves that note while the cycle fetches (it is autostashed)."""
    marker = tmp_path / f"reached-{step}"
    src = tmp_path / "user-edit"
    if edit:
        src.write_text(edit[1])
    script = STEP_HOOK.format(
        when=STEPS[step], marker=marker, edit_src=src if edit else "", edit_dst=root / edit[0] if edit else "",
        edit_done=tmp_path / "user-edit-done",
    )  # fmt: skip
    hooks = [root / ".git/hooks/reference-transaction", root / ".git/hooks/post-index-change"]
    for hook in hooks:
        hook.write_text(script)
        hook.chmod(0o755)
    proc = subprocess.Popen([sys.executable, "-m", "vaultsync", "sync", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None, 30, f"the cycle to reach {step}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the cycle and its git children
        proc.wait(timeout=10)
        for hook in hooks:
            hook.unlink()
    assert marker.exists(), f"the cycle ended before {step}: {proc.stderr.read().decode() if proc.stderr else ''}"
    assert (root / ".git" / "vaultsync-rebase").exists() and (root / ".git/rebase-merge").is_dir()


def restart_sync(root: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "vaultsync", "sync", str(root)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc


def twenty_each(laptop: Path, desktop: Path) -> None:
    """40 notes on both machines; the desktop then edits n20..n39 and pushes, the laptop edits
    n00..n19 (not synced yet)."""
    for i in range(40):
        write_file(laptop / f"many/n{i:02}.md", lines(f"note {i}"))
    sync_vault(laptop, SETTINGS)
    sync_vault(desktop, SETTINGS)
    for i in range(20, 40):
        write_file(desktop / f"many/n{i:02}.md", lines(f"desktop's edit {i}"))
    sync_vault(desktop, SETTINGS)
    for i in range(20):
        write_file(laptop / f"many/n{i:02}.md", lines(f"laptop's edit {i}"))


def assert_all_forty(root: Path, git_remote: Path) -> None:
    for i in range(40):
        want = lines(f"laptop's edit {i}" if i < 20 else f"desktop's edit {i}")
        path = f"many/n{i:02}.md"
        assert (root / path).read_text() == want, path
        assert git(root, "show", f"HEAD:{path}") == want, path
        assert git(git_remote, "show", f"main:{path}") == want, path


def test_a_sync_killed_holding_head_lock_with_the_tree_at_upstream_keeps_the_20_edits(clones, tmp_path, git_remote):
    """The fault-injection report, step by step: killed while HEAD.lock and rebase-merge exist,
    the tree at upstream's state and HEAD at the 20 local commits; then a sync, the user removing
    HEAD.lock if it is still there (as git's message says), and another sync. No sync may commit
    that tree (the old recovery failed on HEAD.lock, then committed 'modified 40': 20 edits lost)."""
    laptop, desktop = clones
    twenty_each(laptop, desktop)
    kill_sync_at(laptop, tmp_path, "checkout-upstream")
    gd = laptop / ".git"
    assert (gd / "HEAD.lock").exists() and (gd / "rebase-merge").is_dir()
    assert sum("laptop's edit" in (laptop / f"many/n{i:02}.md").read_text() for i in range(20)) == 0  # 0 of 20 in the tree
    assert all("laptop's edit" in git(laptop, "show", f"HEAD:many/n{i:02}.md") for i in range(20))  # 20 of 20 in HEAD
    cmd = [sys.executable, "-m", "vaultsync", "sync", str(laptop)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    (gd / "HEAD.lock").unlink(missing_ok=True)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert_all_forty(laptop, git_remote)  # the 20 edits in the tree, in HEAD and on the remote
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "stale HEAD.lock" in first.stderr and "aborted an interrupted rebase" in first.stderr
    assert "committed" not in first.stderr + second.stderr  # nothing to commit: the tree went back to HEAD
    assert "recovered" not in second.stderr
    assert_clean(laptop)
    assert not (gd / "vaultsync-rebase").exists()


@pytest.mark.parametrize("step", list(STEPS))
def test_a_sync_killed_at_each_step_of_an_autostashed_rebase_keeps_every_edit(clones, tmp_path, git_remote, step):
    """The user saves a note while the cycle runs (autostashed); the cycle is killed at each step:
    the next sync keeps the committed edits, the upstream ones and the user's uncommitted one."""
    laptop, desktop = clones
    twenty_each(laptop, desktop)
    kill_sync_at(laptop, tmp_path, step, edit=("a.md", lines("saved while the cycle ran")))
    restart = restart_sync(laptop)
    assert "aborted an interrupted rebase" in restart.stderr
    assert (laptop / "a.md").read_text() == lines("saved while the cycle ran")
    assert git(git_remote, "show", "main:a.md") == lines("saved while the cycle ran")
    assert_all_forty(laptop, git_remote)
    assert_clean(laptop)
    assert git(laptop, "stash", "list") == ""  # the autostash was applied, not left behind
    assert not [p for p in notes(laptop) if CONFLICT_RE.search(p)]  # nothing of the user's was in doubt
    assert_no_markers(laptop)


def test_text_the_user_saves_over_an_interrupted_rebase_is_kept_beside(clones, tmp_path, git_remote):
    """After the kill the tree is at upstream's state; a note the user then edits there is not
    committed over the local commits (that would revert them): it is kept as a conflict copy."""
    laptop, desktop = clones
    twenty_each(laptop, desktop)
    kill_sync_at(laptop, tmp_path, "checkout-upstream")
    write_file(laptop / "many/n03.md", lines("note 3") + "written after the kill\n")
    restart_sync(laptop)
    assert_all_forty(laptop, git_remote)
    copies = [p for p in notes(laptop) if CONFLICT_RE.search(p)]
    assert len(copies) == 1 and copies[0].startswith("many/n03 (conflict ")
    assert (laptop / copies[0]).read_text() == lines("note 3") + "written after the kill\n"
    assert_clean(laptop)


LOCKS = [
    "index.lock", "HEAD.lock", "ORIG_HEAD.lock", "refs/heads/main.lock", "refs/remotes/origin/main.lock",
    "refs/stash.lock", "packed-refs.lock", "config.lock", "shallow.lock", "logs/HEAD.lock", "logs/refs/heads/main.lock",
]  # fmt: skip


def test_every_stale_lock_git_leaves_is_removed_and_the_sync_succeeds(clones, git_remote):
    laptop, desktop = clones
    gd = laptop / ".git"
    for name in LOCKS:
        (gd / name).parent.mkdir(parents=True, exist_ok=True)
        (gd / name).write_text("")  # as a killed git process leaves them
    write_file(desktop / "b.md", lines("desktop's edit"))
    sync_vault(desktop, SETTINGS)
    write_file(laptop / "a.md", lines("laptop's edit"))
    report = sync_vault(laptop, SETTINGS)
    assert sorted(report.recovered) == sorted(f"removed a stale {name}" for name in LOCKS)
    assert report.pushed and report.integrated == "rebase"
    assert not [p for p in gd.rglob("*.lock")]
    assert git(git_remote, "show", "main:a.md") == lines("laptop's edit") and (laptop / "b.md").read_text() == lines("desktop's edit")
    assert_clean(laptop)


def test_a_lock_held_by_a_live_git_process_is_waited_for_not_removed(clones, monkeypatch):
    laptop, _ = clones
    lock = laptop / ".git/packed-refs.lock"
    lock.write_text("")
    # another tool's git, still working: it rewrites its lock, then releases it
    code = f"import time, pathlib; p = pathlib.Path({str(lock)!r})\nfor _ in range(8): time.sleep(0.3); p.write_text(str(time.time()))\np.unlink()"
    helper = subprocess.Popen([sys.executable, "-c", code])
    try:
        report = sync_vault(laptop, SETTINGS)
    finally:
        helper.wait(timeout=10)
    assert report.recovered == []


def test_a_rebase_of_the_users_own_is_still_refused(clones):
    laptop, desktop = clones
    write_file(desktop / "a.md", lines("desktop's words"))
    sync_vault(desktop, SETTINGS)
    write_file(laptop / "a.md", lines("laptop's words"))
    git(laptop, "commit", "-qam", "mine")
    git(laptop, "fetch", "-q", "origin")
    proc = subprocess.run(["git", "rebase", "origin/main"], cwd=laptop, capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and (laptop / ".git/rebase-merge").is_dir()  # stopped on the conflict
    (laptop / ".git/HEAD.lock").write_text("")  # a stale lock too: removed, the rebase left alone
    detached = git(laptop, "rev-parse", "HEAD")
    with pytest.raises(GitError, match="a rebase is in progress"):
        sync_vault(laptop, SETTINGS)
    assert (laptop / ".git/rebase-merge").is_dir() and git(laptop, "rev-parse", "HEAD") == detached
    assert "<<<<<<<" in (laptop / "a.md").read_text()  # the user's conflict, untouched


def test_a_recovery_killed_half_way_is_finished_by_the_next_cycle_even_the_daemons(clones, tmp_path, git_remote, monkeypatch):
    """Recovery writes what it learned into REBASE_MARK before it drops git's state: killed after
    that, the next cycle (a daemon's too, which does not recover first) finishes the repair."""
    from vaultsync.sync import recover as gitrecover

    laptop, desktop = clones
    twenty_each(laptop, desktop)
    kill_sync_at(laptop, tmp_path, "checkout-upstream", edit=("a.md", lines("saved while the cycle ran")))
    restore = gitrecover._restore_worktree

    def killed(*args: object) -> list[str]:
        raise SystemExit("killed")

    monkeypatch.setattr(gitrecover, "_restore_worktree", killed)
    with pytest.raises(SystemExit):
        sync_vault(laptop, SETTINGS)
    gd = laptop / ".git"
    assert not (gd / "rebase-merge").exists() and (gd / "vaultsync-rebase").exists()  # git's state gone, our journal kept
    assert "autostash" in (gd / "vaultsync-rebase").read_text() and git(laptop, "stash", "list")  # the user's edit reachable
    monkeypatch.setattr(gitrecover, "_restore_worktree", restore)
    report = sync_vault(laptop, SETTINGS, recover_first=False)
    assert any("autostash" in line for line in report.recovered) and report.pushed
    assert (laptop / "a.md").read_text() == lines("saved while the cycle ran")
    assert_all_forty(laptop, git_remote)
    assert git(laptop, "stash", "list") == "" and not (gd / "vaultsync-rebase").exists()
    assert_clean(laptop)


def test_locks_are_left_to_a_running_git_gc(clones):
    from vaultsync.sync.cycle import GitRepo, recover

    laptop, _ = clones
    gd = laptop / ".git"
    (gd / "packed-refs.lock").write_text("")
    (gd / "gc.pid").write_text(f"{os.getpid()} {socket.gethostname()}")  # `gc --auto`, detached from our git, runs
    assert recover(GitRepo(laptop)) == [] and (gd / "packed-refs.lock").exists()
    (gd / "gc.pid").unlink()
    assert recover(GitRepo(laptop)) == ["removed a stale packed-refs.lock"] and not (gd / "packed-refs.lock").exists()


# -- a second machine ------------------------------------------------------------------------------


def vaultsync_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vaultsync", *args], capture_output=True, text=True, timeout=120, check=False)


def remote_branches(remote: Path) -> list[str]:
    return git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split()


def first_machine(tmp_path: Path, head: str, branch: str) -> tuple[Path, Path]:
    """A bare remote whose HEAD is ``head`` and machine A pushing ``branch`` to it with `sync --remote`."""
    remote, a = tmp_path / "remote.git", tmp_path / "a"
    subprocess.run(["git", "init", "-q", "--bare", "-b", head, str(remote)], check=True)
    write_file(a / "from-a.md", "# written on A\n")
    subprocess.run(["git", "init", "-q", "-b", branch, str(a)], check=True)
    proc = vaultsync_cli("sync", str(a), "--remote", str(remote))
    assert proc.returncode == 0, proc.stderr
    assert remote_branches(remote) == [branch]
    return remote, a


@pytest.mark.parametrize("way", ["sync --remote", "git clone"])
@pytest.mark.parametrize(("head", "branch"), [("master", "main"), ("main", "main"), ("main", "notes")])
def test_a_second_machine_joins_the_remote_branch_whatever_it_is_called(tmp_path, way, head, branch):
    remote, a = first_machine(tmp_path, head, branch)
    b = tmp_path / "b"
    if way == "git clone":
        subprocess.run(["git", "clone", "-q", str(remote), str(b)], check=True, capture_output=True)
        proc = vaultsync_cli("sync", str(b), "--json")
    else:
        b.mkdir()  # the URL as a path relative to the current folder, as git clone takes it
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # this checkout's vaultsync
        proc = subprocess.run([sys.executable, "-m", "vaultsync", "sync", "b", "--remote", "remote.git", "--json"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert notes(b) == {"from-a.md": "# written on A\n"}
    assert git(b, "rev-parse", "--abbrev-ref", "HEAD").strip() == branch
    assert git(b, "rev-parse", "--abbrev-ref", "@{upstream}").strip() == f"origin/{branch}"  # plain git agrees
    assert json.loads(proc.stdout)["branch"] == branch
    # the round trip: B's note reaches A, A's reaches B, and no second branch appears on the remote
    write_file(b / "from-b.md", "# written on B\n")
    proc = vaultsync_cli("sync", str(b), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["pushed"], proc.stderr
    assert vaultsync_cli("sync", str(a)).returncode == 0
    write_file(a / "again-a.md", "# A again\n")
    assert vaultsync_cli("sync", str(a)).returncode == 0
    assert vaultsync_cli("sync", str(b)).returncode == 0
    assert set(notes(a)) == set(notes(b)) == {"from-a.md", "from-b.md", "again-a.md"}
    assert notes(a) == notes(b)
    assert remote_branches(remote) == [branch]
    status = json.loads(vaultsync_cli("status", str(b), "--json").stdout)["sync"]
    assert (status["branch"], status["ahead"], status["behind"]) == (branch, 0, 0)
    for root in (a, b):
        assert_clean(root)


def test_status_counts_the_commits_ahead_and_behind_the_remote(tmp_path):
    remote, a = first_machine(tmp_path, "master", "main")
    b = tmp_path / "b"
    subprocess.run(["git", "clone", "-q", str(remote), str(b)], check=True, capture_output=True)
    sync_vault(b, SETTINGS)
    for name in ("one", "two"):  # two commits of B's own, not pushed
        write_file(b / f"{name}.md", f"# {name}\n")
        git(b, "add", "-A")
        git(b, "commit", "-q", "-m", name)
    write_file(a / "news.md", "# from A\n")
    assert vaultsync_cli("sync", str(a)).returncode == 0
    git(b, "fetch", "-q", "origin")
    status = json.loads(vaultsync_cli("status", str(b), "--json").stdout)["sync"]
    assert (status["branch"], status["ahead"], status["behind"]) == ("main", 2, 1)
    assert "2 ahead, 1 behind origin/main" in vaultsync_cli("status", str(b)).stdout


def hint_of(stderr: str) -> str:
    found = [line.removeprefix("hint: ") for line in stderr.splitlines() if line.startswith("hint: ")]
    assert len(found) == 1, stderr
    return found[0]


def test_an_empty_clone_of_an_empty_remote_is_an_error_until_a_note_is_written(tmp_path):
    remote, b = tmp_path / "remote.git", tmp_path / "b"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "master", str(remote)], check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(b)], check=True, capture_output=True)
    proc = vaultsync_cli("sync", str(b))
    assert proc.returncode == 1 and "nothing to sync" in proc.stderr and proc.stdout == ""
    assert hint_of(proc.stderr).endswith(f"vaultsync sync {b}")
    write_file(b / "first.md", "# first\n")
    proc = vaultsync_cli("sync", str(b), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["pushed"], proc.stderr
    assert remote_branches(remote) == ["master"]  # the clone's branch: the one the remote's HEAD names


def test_a_history_on_a_branch_the_remote_lacks_is_refused_and_the_hint_joins_them(tmp_path):
    remote, a = first_machine(tmp_path, "master", "main")
    d = tmp_path / "d"
    write_file(d / "from-d.md", "# written on D\n")
    git(tmp_path, "init", "-q", "-b", "master", str(d))
    git(d, "add", "-A")
    git(d, "commit", "-q", "-m", "D's own history")
    git(d, "remote", "add", "origin", str(remote))
    proc = vaultsync_cli("sync", str(d))
    assert proc.returncode == 1, proc.stderr
    assert "no branch 'master'" in proc.stderr and "(it has main)" in proc.stderr
    assert remote_branches(remote) == ["main"]  # nothing pushed
    fix_git, _, fix_sync = hint_of(proc.stderr).partition(": ")[2].partition(" && ")
    assert fix_git == f"git -C {d} branch -m master main" and fix_sync == f"vaultsync sync {d}"
    git(tmp_path, *fix_git.split()[1:])
    proc = vaultsync_cli("sync", str(d))
    assert proc.returncode == 0, proc.stderr
    assert vaultsync_cli("sync", str(a)).returncode == 0
    assert set(notes(a)) == set(notes(d)) == {"from-a.md", "from-d.md"}
    assert remote_branches(remote) == ["main"]


def test_an_unborn_checkout_and_a_remote_whose_head_names_none_of_its_branches_is_an_error(tmp_path):
    remote, a = first_machine(tmp_path, "master", "main")
    git(a, "push", "-q", "origin", "main:other")
    b = tmp_path / "b"
    subprocess.run(["git", "clone", "-q", str(remote), str(b)], check=True, capture_output=True)
    with pytest.raises(GitError) as info:
        sync_vault(b, SETTINGS)
    assert "main, other" in str(info.value)
    assert info.value.hint == f"pick one and sync: git -C {b} symbolic-ref HEAD refs/heads/main && vaultsync sync {b}"
    git(b, "symbolic-ref", "HEAD", "refs/heads/main")
    assert sync_vault(b, SETTINGS).branch == "main" and notes(b) == notes(a)


def test_a_remote_url_git_cannot_read_is_bad_usage_and_leaves_the_folder_alone(tmp_path):
    b = tmp_path / "b"
    write_file(b / "note.md", "# mine\n")
    proc = vaultsync_cli("sync", str(b), "--remote", str(tmp_path / "no-such.git"))
    assert proc.returncode == 2, proc.stderr
    assert "not a git repository" in proc.stderr and "hint: " in proc.stderr
    assert sorted(p.name for p in b.iterdir()) == ["note.md"]
