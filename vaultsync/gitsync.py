"""Replicate a vault through git: the sync cycle (git itself runs through :mod:`vaultsync._git`).

A cycle (:func:`sync_vault`) commits local changes, fetches, predicts conflicts with
``git merge-tree --write-tree`` (the notes are not touched), then either rebases with autostash
(clean) or builds a merge commit that keeps the local version of every conflicting note in place
and adds the remote version beside it as ``Name (conflict HOST YYYY-MM-DD HHMM).md``. It refuses
to push a mass deletion, pushes, and reports the paths the pull changed so the caller can index
them. It never leaves conflict markers in a note or the repository mid-rebase, and never commits
``.vaultsync/``. :func:`recover` repairs what a killed cycle left behind (run it at start-up).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultsync._git import (
    GIT_LOCK,
    GitRepo,
    check_git_version,
    git_env,
    host_name,
    run_git,
    split_z,
)
from vaultsync.config import GitSettings
from vaultsync.errors import GitError

if TYPE_CHECKING:
    from vaultsync.indexing import Indexer

log = logging.getLogger(__name__)

__all__ = [
    "CONFLICT_RE",
    "GitRepo",
    "SyncReport",
    "check_git_version",
    "git_env",
    "host_name",
    "recover",
    "run_git",
    "setup_repository",
    "sync_status",
    "sync_vault",
]

STATE_NAME = "sync.json"
REBASE_MARK = "vaultsync-rebase"  # in the git dir while our rebase runs: recovery may abort it
GITIGNORE_LINES = (".obsidian/workspace*", ".trash/", ".vaultsync/")
MASS_DELETE_FLOOR = 10  # deleting fewer notes than this never counts as a mass deletion
CONFLICT_RE = re.compile(r" \(conflict [^()/]+ \d{4}-\d{2}-\d{2} \d{4}(?: \d+)?\)(?:\.[^./]+)?$")
_ZERO = "0" * 40


def setup_repository(root: Path, url: str, settings: GitSettings) -> bool:
    """Make ``root`` a repository syncing with ``url``: ``git init`` when it is not one, the
    remote, and a ``.gitignore`` covering Obsidian's workspace, the trash and ``.vaultsync/``.
    Returns True when a repository was created."""
    repo = GitRepo(root)
    check_git_version(root)
    created = not repo.is_toplevel()
    if created:
        # the branch: the remote's default when it has one, else main
        heads = run_git(root, ["ls-remote", "--symref", url, "HEAD"], check=False).stdout
        found = re.search(r"^ref: refs/heads/(\S+)\tHEAD", heads, re.MULTILINE)
        branch = settings.branch or (found.group(1) if found else "main")
        repo.run("init", "-q", "-b", branch)
        log.info("initialised a git repository in %s (branch %s)", root, branch)
    ignore = root / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in lines]
    if missing:
        text = "\n".join([*lines, *missing]) + "\n"
        ignore.write_text(text, encoding="utf-8")
    current = repo.run("remote", "get-url", settings.remote, check=False)
    if current.returncode != 0:
        repo.run("remote", "add", settings.remote, url)
    elif current.stdout.strip() != url:
        raise GitError(
            f"remote {settings.remote!r} already points to {current.stdout.strip()}",
            hint=f"change it with: git -C {root} remote set-url {settings.remote} {url}",
        )
    return created


def recover(repo: GitRepo) -> list[str]:
    """Repair what an interrupted cycle (or a git process killed under it) left behind, and log
    one line per repair:

    - every stale lock git takes (``index.lock``, ``HEAD.lock``, ``ORIG_HEAD.lock``, ``refs/**``,
      ``logs/**``, ``packed-refs.lock``, ``config.lock``, ``shallow.lock``...), once no git
      process holds them (ours run one at a time under GIT_LOCK; another tool's is waited for);
    - a rebase of ours (``REBASE_MARK`` present) killed at any step: its state is dropped, HEAD
      goes back to the branch (the local commits, or the rebase's result once git had moved the
      branch), and the working tree and index are put back to HEAD, so that the next commit
      cannot revert committed edits; text found there that no commit involved holds (the user's)
      is copied beside as a conflict copy, never lost; the autostash (the user's uncommitted
      edits) is applied again. A rebase without our mark is the user's: refused as busy;
    - a merge in progress (aborted), a stale ``AUTO_MERGE`` (silently), a failed autostash pop."""
    if not repo.is_toplevel():
        return []
    gd = repo.git_dir
    done = _remove_stale_locks(gd)
    done += _recover_rebase(repo, gd)
    if (gd / "MERGE_HEAD").exists():
        repo.run("merge", "--abort")
        done.append("aborted an interrupted merge")
    busy = any((gd / name).exists() for name in ("rebase-merge", "rebase-apply", "MERGE_HEAD", "sequencer", "CHERRY_PICK_HEAD"))
    if not busy:
        (gd / "AUTO_MERGE").unlink(missing_ok=True)  # git 2.39 leaves it after a clean rebase too: not worth a line
    done += _rescue_unmerged(repo)
    for repair in done:
        log.warning("recovered the git repository %s: %s", repo.root, repair)
    return done


LOCK_WAIT_S = 2.0  # a lock unchanged this long, with none of our git processes running, is stale


def _git_locks(gd: Path) -> dict[Path, tuple[int, int, int] | None]:
    """Every ``*.lock`` file in the git dir (the loose objects are not walked) -> its identity."""
    found: dict[Path, tuple[int, int, int] | None] = {}
    for top, dirs, files in os.walk(gd):
        here = Path(top)
        if here.name == "objects":  # also a submodule's, under modules/
            dirs[:] = [d for d in dirs if d in ("info", "pack")]
        elif here == gd:
            dirs[:] = [d for d in dirs if d not in ("lfs", "hooks")]
        for name in files:
            if name.endswith(".lock"):
                found[here / name] = _lock_stamp(here / name)
    return found


def _lock_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.lstat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _remove_stale_locks(gd: Path) -> list[str]:
    """Remove the locks no git process holds: none of ours runs while GIT_LOCK is held, and a
    lock that another tool's git holds changes or goes within LOCK_WAIT_S (waited for, up to 5x
    as long while it keeps changing)."""
    locks = _git_locks(gd)
    if not locks:
        return []
    if _gc_running(gd):  # git's own `gc --auto`, detached from our git commands: its locks are live
        log.info("git gc is running in %s: its locks are left alone", gd)
        return []
    removed = []
    with GIT_LOCK:
        now = time.monotonic()
        deadline, limit = now + LOCK_WAIT_S, now + 5 * LOCK_WAIT_S
        while locks and time.monotonic() < deadline:
            time.sleep(0.1)
            for path, stamp in list(locks.items()):
                current = _lock_stamp(path)
                if current is None:
                    del locks[path]  # released: it was live
                elif current != stamp:
                    locks[path] = current  # being written: live, give it time
                    deadline = min(limit, time.monotonic() + LOCK_WAIT_S)
        for path in sorted(locks):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(f"removed a stale {path.relative_to(gd).as_posix()}")
    return removed


def _gc_running(gd: Path) -> bool:
    """True while the ``git gc`` named in ``gc.pid`` runs (git itself trusts that file 12 hours)."""
    try:
        pid, host = (gd / "gc.pid").read_text(encoding="utf-8").split()[:2]
        if host != socket.gethostname() or time.time() - (gd / "gc.pid").stat().st_mtime > 12 * 3600:
            return False
        os.kill(int(pid), 0)
    except PermissionError:
        return True  # alive, someone else's
    except (OSError, ValueError):
        return False
    return True


def _read_mark(mark: Path) -> dict[str, str]:
    """Our rebase's journal: its first line is the head before the rebase (written by the cycle),
    then ``key value`` lines (the branch; what recovery learned before it dropped git's state)."""
    first, *rest = mark.read_text(encoding="utf-8").splitlines() or [""]
    journal = {"head": first.strip()}
    for line in rest:
        key, _, value = line.partition(" ")
        if key and value.strip():
            journal[key] = value.strip()
    return journal


def _write_mark(mark: Path, journal: dict[str, str]) -> None:
    tmp = mark.with_name(mark.name + ".tmp")
    tmp.write_text("\n".join([journal.get("head", ""), *(f"{k} {v}" for k, v in journal.items() if k != "head")]) + "\n",
                   encoding="utf-8")  # fmt: skip
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, mark)


def _recover_rebase(repo: GitRepo, gd: Path) -> list[str]:
    """Undo a rebase of ours killed at any step (see :func:`recover`)."""
    mark = gd / REBASE_MARK
    states = [gd / name for name in ("rebase-merge", "rebase-apply") if (gd / name).is_dir()]
    if states and not mark.exists():  # the user's own rebase: theirs to finish
        raise GitError(f"{repo.root}: a rebase is in progress", hint="finish it (git rebase --continue) or abort it")
    if not mark.exists():
        return []
    journal = _read_mark(mark)
    if not states and "restore" not in journal:
        mark.unlink()  # killed before the rebase began or after it had finished: nothing to undo
        return []
    done = []
    if states:
        # learn what git's state knows, and write it down before that state goes
        for state in states:
            for key, name in (("orig", "orig-head"), ("onto", "onto"), ("branch", "head-name"), ("autostash", "autostash")):
                if key not in journal and (state / name).is_file():
                    value = (state / name).read_text(encoding="utf-8", errors="replace").strip()
                    if value and value != "detached HEAD":
                        journal[key] = value
        detached = repo.rev("HEAD")
        if detached:
            journal["detached"] = detached
        stash = repo.rev(journal["autostash"]) if "autostash" in journal else None
        if stash and repo.rev("refs/stash") != stash:  # the user's edits stay reachable whatever happens next
            repo.run("stash", "store", "-q", "-m", "vaultsync: autostash of an interrupted sync", stash)
        journal["restore"] = "pending"
        _write_mark(mark, journal)
        for state in states:
            (state / "autostash").unlink(missing_ok=True)  # applied below, once the tree is right
        repo.run("rebase", "--quit", check=False)  # drops the state; touches neither HEAD nor the tree
        for state in states:
            shutil.rmtree(state, ignore_errors=True)
        for name in ("REBASE_HEAD", "CHERRY_PICK_HEAD", "AUTO_MERGE", "MERGE_MSG", "SQUASH_MSG"):
            (gd / name).unlink(missing_ok=True)  # a pick's leftovers
        local = journal.get("orig") or journal.get("head") or "?"
        done.append(f"aborted an interrupted rebase (local commits kept at {local[:10]})")
    branch = journal.get("branch", "")
    current = repo.run("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
    if branch.startswith("refs/heads/") and repo.rev(branch) and current != branch:
        repo.run("symbolic-ref", "HEAD", branch)  # back on the branch, wherever the rebase had got to
        done.append(f"put HEAD back on {branch.removeprefix('refs/heads/')}")
    known = [journal[k] for k in ("head", "orig", "onto", "detached", "autostash") if k in journal]
    if "autostash" in journal:
        known.append(journal["autostash"] + "^2")  # the stash's index
    if "onto" in journal and "detached" in journal:  # the commits picked so far
        proc = repo.run("rev-list", "--max-count=200", f"{journal['onto']}..{journal['detached']}", check=False)
        known += proc.stdout.split()
    done += _restore_worktree(repo, known)
    stash = repo.rev(journal["autostash"]) if "autostash" in journal else None
    applied = stash is not None and repo.run("stash", "apply", "-q", stash, check=False).returncode == 0
    if applied:
        done.append("applied the autostash of an interrupted rebase again (the uncommitted edits)")
    elif stash and repo.out("ls-files", "-u", "-z"):
        done += _rescue_unmerged(repo)  # the user's text in place, HEAD's beside it; drops the stash
    elif stash:
        log.error("could not apply the autostash %s of an interrupted rebase again", stash[:10])
        done.append(f"left the uncommitted edits of an interrupted rebase in the stash ({stash[:10]})")
    mark.unlink()
    if applied and repo.rev("refs/stash") == stash:
        repo.run("stash", "drop", "-q")  # only now: until the mark went, a rerun applies it again
    return done


def _restore_worktree(repo: GitRepo, known: list[str]) -> list[str]:
    """Put the index and the working tree back to HEAD after an interrupted rebase: what a
    checkout of git's wrote (a version of the note in one of the ``known`` commits, or a
    conflict in progress) is replaced; anything else is the user's text and is copied beside
    under a conflict name first (a new note not in HEAD simply stays)."""
    if repo.rev("HEAD") is None:
        return []
    unmerged = {line.split("\t", 1)[1] for line in split_z(repo.out("ls-files", "-u", "-z"))}
    repo.run("reset", "-q", "--no-refresh")  # the index = HEAD; the working tree is not touched
    changed = split_z(repo.out("diff", "--name-only", "-z", "--no-renames", "HEAD"))
    untracked = split_z(repo.out("ls-files", "-o", "--exclude-standard", "-z"))
    paths = sorted(set(changed) | set(untracked))
    if not paths:
        return []
    head = repo.entries("HEAD", paths)
    seen: dict[str, set[str | None]] = {path: set() for path in paths}
    for rev in {r for r in known if repo.rev(r)}:
        found = repo.entries(rev, paths)
        for path in paths:
            seen[path].add(found[path][1] if path in found else None)
    blobs = _worktree_blobs(repo, paths)
    put_back, removed, copies = [], 0, 0
    taken: set[str] = set()
    for path in paths:
        now = blobs.get(path)
        gits = path in unmerged or now in seen[path]
        if now == "?":
            log.error("left %r as it is after an interrupted rebase: not a file", path)
        elif path in head:
            if now == head[path][1]:
                continue  # only the mode or the stat differ
            if now is not None and not gits:
                copy = _conflict_name(repo.root, path, host_name(), time.time(), taken)
                taken.add(copy)
                source = repo.root / path
                if source.is_symlink():
                    os.symlink(os.readlink(source), repo.root / copy)
                else:
                    (repo.root / copy).write_bytes(source.read_bytes())
                log.warning("kept the text of %r found over an interrupted rebase as %r", path, copy)
                copies += 1
            put_back.append(path)
        elif now is not None and gits:
            target = repo.root / path
            target.unlink()
            removed += 1
            for parent in target.parents:
                if parent == repo.root or any(parent.iterdir()):
                    break
                parent.rmdir()
    if put_back:
        repo.run("checkout-index", "-f", "-u", "-z", "--stdin", input="\0".join(put_back) + "\0")
    done = [f"put {len(put_back) + removed} files back to HEAD after an interrupted rebase"] if put_back or removed else []
    if copies:
        done.append(f"kept {copies} notes written over an interrupted rebase as conflict copies")
    return done


def _worktree_blobs(repo: GitRepo, paths: list[str]) -> dict[str, str | None]:
    """path -> the blob id git would give the file in the working tree (None: missing)."""
    blobs: dict[str, str | None] = {}
    files = []
    for path in paths:
        target = repo.root / path
        if target.is_symlink():
            blobs[path] = repo.out("hash-object", "--stdin", input=os.readlink(target)).strip()  # fmt: skip
        elif target.is_file() and "\n" not in path:
            files.append(path)
        elif target.exists():
            blobs[path] = "?"  # a folder, or a name hash-object cannot take: never git's own
        else:
            blobs[path] = None
    if files:
        out = repo.out("hash-object", "--stdin-paths", input="\n".join(files) + "\n").split()
        blobs.update(zip(files, out))
    return blobs


def _rescue_unmerged(repo: GitRepo) -> list[str]:
    """A failed autostash pop leaves conflict markers: put the user's text back, keep HEAD's beside it."""
    paths = sorted({line.split("\t", 1)[1] for line in split_z(repo.out("ls-files", "-u", "-z"))})
    if not paths:
        return []
    stash = repo.rev("refs/stash")
    theirs = repo.entries("HEAD", paths)
    mine = repo.entries(stash, paths) if stash else {}
    for path in paths:
        target = repo.root / path
        if path in mine:
            target.write_bytes(_blob(repo, mine[path][1]))
        if path in theirs and (path not in mine or theirs[path] != mine[path]):
            copy = _conflict_name(repo.root, path, host_name(), time.time())
            (repo.root / copy).write_bytes(_blob(repo, theirs[path][1]))
    repo.run("reset", "-q")
    if stash:
        repo.run("stash", "drop", "-q")
    return [f"restored {len(paths)} notes from a conflicting autostash"]


def _blob(repo: GitRepo, oid: str) -> bytes:
    with GIT_LOCK:
        return subprocess.run(["git", "cat-file", "blob", oid], cwd=repo.root, env=git_env(), capture_output=True, check=True).stdout


# -- the cycle ------------------------------------------------------------------------------------


@dataclass(slots=True)
class SyncReport:
    """What one cycle did."""

    committed: dict[str, int] = field(default_factory=dict)  # local changes by kind
    integrated: str = "none"  # none | fast-forward | rebase | merge
    changed: list[str] = field(default_factory=list)  # uris the pull changed in the vault
    conflicts: list[str] = field(default_factory=list)  # conflict copies written
    pushed: bool = False
    blocked: str | None = None  # why the push was refused
    recovered: list[str] = field(default_factory=list)
    ahead: int = 0
    behind: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["changed"] = len(self.changed)
        data["seconds"] = round(self.seconds, 3)
        return data


def sync_vault(
    root: Path,
    settings: GitSettings,
    *,
    recover_first: bool = True,
    allow_deletions: bool = False,
    indexer: Indexer | None = None,
) -> SyncReport:
    """One cycle: commit, fetch, predict, rebase or keep both sides, push, index what changed."""
    started = time.perf_counter()
    check_git_version(root)
    repo = GitRepo(root)
    if not repo.is_toplevel():
        raise GitError(f"{root} is not a git repository", hint="set it up with: vaultsync sync --remote URL")
    # a rebase of ours left unfinished (a git child killed under a running daemon): recover anyway
    report = SyncReport(recovered=recover(repo) if recover_first or (repo.git_dir / REBASE_MARK).exists() else [])
    _refuse_if_busy(repo)
    branch = settings.branch or repo.current_branch()
    tracking = f"refs/remotes/{settings.remote}/{branch}"
    host = host_name()
    try:
        report.committed = commit_changes(repo, host)
        before = repo.rev("HEAD")
        for _attempt in range(3):
            upstream = _fetch(repo, settings.remote, branch, tracking)
            if upstream is not None:
                _integrate(repo, upstream, host, report)
            head = repo.rev("HEAD")
            if head is None or not settings.push or (upstream is not None and repo.is_ancestor(head, upstream)):
                break
            if upstream is not None and not allow_deletions:
                report.blocked = _mass_deletion(repo, upstream, settings.max_delete_share)
                if report.blocked:
                    log.error("push refused: %s", report.blocked)
                    break
            if _push(repo, settings.remote, branch):
                report.pushed = True
                break
        report.changed = [p for p in repo.changed_paths(before, repo.rev("HEAD")) if not p.startswith(".vaultsync/")]
        if repo.rev(tracking) and repo.rev("HEAD"):
            report.ahead, report.behind = repo.ahead_behind(tracking)
    except GitError as exc:
        _save_state(root, {"error": str(exc).splitlines()[0]})
        raise
    if indexer is not None and report.changed:
        indexer.refresh(report.changed)
    report.seconds = time.perf_counter() - started
    _save_state(root, {"last_sync": time.time(), "host": host, "blocked": report.blocked, "error": None,
                       "conflicts": report.conflicts})  # fmt: skip
    return report


def _refuse_if_busy(repo: GitRepo) -> None:
    gd = repo.git_dir
    for name in ("rebase-merge", "rebase-apply", "MERGE_HEAD"):
        if (gd / name).exists():
            raise GitError(f"{repo.root}: git is busy ({name} exists)", hint="finish the operation in progress; the next sync retries")


def commit_changes(repo: GitRepo, host: str) -> dict[str, int]:
    """Commit everything in the vault except ``.vaultsync/``; return the counts by kind."""
    _exclude_state_dir(repo)
    repo.run("add", "-A")  # .vaultsync/ is in info/exclude
    head = repo.rev("HEAD")
    if head is None:
        staged = split_z(repo.out("ls-files", "-z"))
        counts = {"added": len(staged)} if staged else {}
    else:
        counts = {}
        kinds = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "T": "modified", "C": "added"}
        out = split_z(repo.out("diff", "--cached", "--name-status", "-z", "-M", "HEAD"))
        i = 0
        while i < len(out):
            status = out[i]
            kind = kinds.get(status[0], "modified")
            counts[kind] = counts.get(kind, 0) + 1
            i += 3 if status[0] in "RC" else 2
    if not counts:
        return {}
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    repo.run("commit", "-q", "--no-verify", "-m", f"vaultsync: {summary} on {host}\n\nHost: {host}")
    log.info("committed %s", summary)
    return counts


def _exclude_state_dir(repo: GitRepo) -> None:
    exclude = repo.git_dir / "info" / "exclude"
    text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    if ".vaultsync/" not in text.splitlines():
        exclude.parent.mkdir(exist_ok=True)
        exclude.write_text(text + ("" if text.endswith("\n") or not text else "\n") + ".vaultsync/\n", encoding="utf-8")
    if repo.out("ls-files", "-z", "--", ".vaultsync"):
        repo.run("rm", "-r", "-q", "--cached", "--", ".vaultsync")  # committed by someone else: untrack it


def _fetch(repo: GitRepo, remote: str, branch: str, tracking: str) -> str | None:
    """The remote branch's commit after a fetch, or None when the remote has no such branch."""
    proc = repo.run("fetch", "-q", "--no-tags", remote, f"+refs/heads/{branch}:{tracking}", check=False)
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            return None
        raise GitError(f"cannot fetch from {remote!r}", cmd=("git", "fetch", remote, branch), returncode=proc.returncode,
                       stdout=proc.stdout, stderr=proc.stderr, hint="check the network and the remote's URL")  # fmt: skip
    return repo.rev(tracking)


def _integrate(repo: GitRepo, upstream: str, host: str, report: SyncReport) -> None:
    for _attempt in range(3):
        head = repo.rev("HEAD")
        if head is not None and repo.is_ancestor(upstream, head):
            return  # nothing new there
        if head is None or repo.is_ancestor(head, upstream):
            ok = repo.run("merge", "-q", "--ff-only", upstream, check=False).returncode == 0
            mode = "fast-forward"
        else:
            proc = repo.run("merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", "--allow-unrelated-histories", head, upstream, check=False)
            if proc.returncode not in (0, 1):
                raise GitError("git merge-tree failed", cmd=("git", "merge-tree", head, upstream), returncode=proc.returncode,
                               stdout=proc.stdout, stderr=proc.stderr)  # fmt: skip
            tree, *conflicted = split_z(proc.stdout)
            if conflicted:
                merge = _merge_keeping_both(repo, head, upstream, tree, sorted(set(conflicted)), host, report)
                ok = repo.run("merge", "-q", "--ff-only", merge, check=False).returncode == 0
                mode = "merge"
            else:
                mark = repo.git_dir / REBASE_MARK
                branch = repo.run("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
                mark.write_text(f"{head}\nbranch {branch}\n")  # recovery's journal: see recover()
                ok = repo.run("rebase", "-q", "--autostash", "--no-autosquash", upstream, check=False).returncode == 0
                if not ok:  # a commit-by-commit conflict the combined merge does not have
                    repo.run("rebase", "--abort", check=False)
                    merge = repo.out("commit-tree", tree, "-p", head, "-p", upstream, "-m", f"vaultsync: merge on {host}\n\nHost: {host}").strip()
                    ok = repo.run("merge", "-q", "--ff-only", merge, check=False).returncode == 0
                if any((repo.git_dir / name).exists() for name in ("rebase-merge", "rebase-apply")):
                    # git died under us (killed, out of memory): the mark stays, recovery undoes it
                    raise GitError(f"{repo.root}: the rebase was interrupted", hint="the next sync repairs it")
                mark.unlink()
                mode = "rebase"
        _rescue_unmerged(repo)
        if ok:
            report.integrated = mode
            return
        # the user saved a note the pull also changes, between our commit and now: commit it, retry
        report.conflicts.clear()
        commit_changes(repo, host)
    raise GitError("cannot integrate the remote changes: the vault keeps changing", hint="the next sync retries")


def _merge_keeping_both(
    repo: GitRepo, head: str, upstream: str, tree: str, paths: list[str], host: str, report: SyncReport
) -> str:
    """A merge commit whose tree is the clean merge, with each conflicting path holding the local
    version and the remote version written beside it (an edit always beats a delete)."""
    local, remote = repo.entries(head, paths), repo.entries(upstream, paths)
    lines = []
    taken = set(split_z(repo.out("ls-tree", "-r", "-z", "--name-only", tree)))
    for path in paths:
        keep = local.get(path) or remote.get(path)
        lines.append(f"{keep[0]} {keep[1]}\t{path}" if keep else f"0 {_ZERO}\t{path}")
        if path in local and path in remote and local[path] != remote[path]:
            who, when = _last_change(repo, upstream, path)
            copy = _conflict_name(repo.root, path, who, when, taken)
            taken.add(copy)
            lines.append(f"{remote[path][0]} {remote[path][1]}\t{copy}")
            report.conflicts.append(copy)
            log.warning("conflict in %r: kept this machine's version, wrote %s's beside it as %r", path, who, copy)
    fd, tmp = tempfile.mkstemp(prefix="vaultsync-merge.", suffix=".index", dir=repo.git_dir)
    os.close(fd)
    os.unlink(tmp)
    env = {"GIT_INDEX_FILE": tmp}
    try:
        repo.run("read-tree", tree, env=env)
        with GIT_LOCK:
            subprocess.run(["git", "update-index", "--index-info"], cwd=repo.root, env={**git_env(), **env},
                           input="\n".join(lines) + "\n", text=True, check=True, capture_output=True)  # fmt: skip
        resolved = repo.out("write-tree", env=env).strip()
    finally:
        Path(tmp).unlink(missing_ok=True)
    message = f"vaultsync: merge on {host}, {len(report.conflicts)} conflicts kept side by side\n\nHost: {host}"
    return repo.out("commit-tree", resolved, "-p", head, "-p", upstream, "-m", message).strip()


def _last_change(repo: GitRepo, rev: str, path: str) -> tuple[str, float]:
    """The host (from our commit trailer, else the author) and time of the last change to ``path``."""
    out = repo.out("--literal-pathspecs", "log", "-1", "--format=%ct%x00%an%x00%B", rev, "--", path)
    stamp, author, body = (out.split("\0", 2) + ["", ""])[:3]
    found = re.search(r"^Host: (\S+)", body, re.MULTILINE)
    who = re.sub(r"[^\w.-]+", "-", found.group(1) if found else author) or "remote"
    return who, float(stamp or time.time())


def _conflict_name(root: Path, path: str, who: str, when: float, taken: set[str] | None = None) -> str:
    folder, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    base = f"{stem} (conflict {who} {time.strftime('%Y-%m-%d %H%M', time.localtime(when))}"
    for n in range(1, 1000):
        candidate = (f"{folder}/" if folder else "") + base + (f" {n}" if n > 1 else "") + ")" + dot + ext
        if candidate not in (taken or set()) and not (root / candidate).exists():
            return candidate
    raise GitError(f"too many conflict copies of {path!r}")


def _mass_deletion(repo: GitRepo, upstream: str, max_share: float) -> str | None:
    deleted = [p for p in split_z(repo.out("diff", "--name-only", "-z", "-M", "--diff-filter=D", upstream, "HEAD")) if p.lower().endswith(".md")]
    if len(deleted) < MASS_DELETE_FLOOR:
        return None
    total = sum(1 for p in split_z(repo.out("ls-tree", "-r", "-z", "--name-only", upstream)) if p.lower().endswith(".md"))
    if total and len(deleted) / total > max_share:
        return f"{len(deleted)} of the remote's {total} notes would be deleted (more than {max_share:.0%})"
    return None


def _push(repo: GitRepo, remote: str, branch: str) -> bool:
    """Push; False when the remote moved meanwhile (the caller fetches and integrates again)."""
    proc = repo.run("push", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
    if proc.returncode == 0:
        return True
    if re.search(r"rejected|fetch first|non-fast-forward", proc.stderr):
        return False
    raise GitError(f"cannot push to {remote!r}", cmd=("git", "push", remote, branch), returncode=proc.returncode,
                   stdout=proc.stdout, stderr=proc.stderr)  # fmt: skip


# -- status ---------------------------------------------------------------------------------------


def _save_state(root: Path, data: dict[str, Any]) -> None:
    state = root / ".vaultsync"
    state.mkdir(exist_ok=True)
    path = state / STATE_NAME
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    old.update(data)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(old, indent=1))
    os.replace(tmp, path)


def sync_status(root: Path, settings: GitSettings) -> dict[str, Any] | None:
    """Last sync, ahead/behind the remote as last fetched, and conflict copies waiting for the
    user; None when the vault is not a git repository."""
    repo = GitRepo(root)
    if not (root / ".git").exists() or not repo.is_toplevel():
        return None
    try:
        state = json.loads((root / ".vaultsync" / STATE_NAME).read_text())
    except (OSError, ValueError):
        state = {}
    branch = settings.branch or repo.run("symbolic-ref", "-q", "--short", "HEAD", check=False).stdout.strip()
    tracking = f"refs/remotes/{settings.remote}/{branch}"
    ahead = behind = None
    if repo.rev(tracking) and repo.rev("HEAD"):
        ahead, behind = repo.ahead_behind(tracking)
    conflicts = [p for p in split_z(repo.out("ls-files", "-z")) if CONFLICT_RE.search(p)]
    return {
        "branch": branch,
        "remote": settings.remote,
        "last_sync": state.get("last_sync"),
        "last_error": state.get("error"),
        "blocked": state.get("blocked"),
        "ahead": ahead,
        "behind": behind,
        "conflicts": conflicts,
    }
