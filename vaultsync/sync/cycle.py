"""Replicate a vault through git: the sync cycle (git itself runs through :mod:`vaultsync.sync.git`).

A cycle (:func:`sync_vault`) commits local changes, fetches, predicts conflicts with
``git merge-tree --write-tree`` (the notes are not touched), then either rebases with autostash
(clean) or builds a merge commit that keeps the local version of every conflicting note in place
and adds the remote version beside it as ``Name (conflict HOST YYYY-MM-DD HHMM).md``. It refuses
to push a mass deletion, pushes, and reports the paths the pull changed so the caller can index
them. It never leaves conflict markers in a note or the repository mid-rebase, and never commits
``.vaultsync/``. :func:`vaultsync.sync.recover.recover` repairs what a killed cycle left behind
(every cycle runs it first; the daemon at start-up). Which branch it syncs (an unborn checkout
joins the remote's branch; a push never opens a second branch) is :mod:`vaultsync.sync.remote`'s.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultsync.config import GitSettings
from vaultsync.errors import GitError
from vaultsync.sync.git import (
    GIT_LOCK,
    GitRepo,
    check_git_version,
    git_env,
    host_name,
    run_git,
    split_z,
)
from vaultsync.sync.recover import CONFLICT_RE, REBASE_MARK, _conflict_name, _rescue_unmerged, mark_rebase, recover
from vaultsync.sync.remote import adopt_remote_branch, refuse_empty, refuse_second_branch, setup_repository, track

if TYPE_CHECKING:
    from vaultsync.store.indexing import Indexer

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
MASS_DELETE_FLOOR = 10  # deleting fewer notes than this never counts as a mass deletion
_ZERO = "0" * 40


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
    branch: str = ""  # the branch synced (the remote's of the same name)
    ahead: int = 0
    behind: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["changed"] = len(self.changed)
        data["seconds"] = round(self.seconds, 3)
        return data


STEPS = 6  # the steps a cycle reports to ``progress``: check, commit, fetch, integrate, push, index


def sync_vault(
    root: Path,
    settings: GitSettings,
    *,
    recover_first: bool = True,
    allow_deletions: bool = False,
    indexer: Indexer | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> SyncReport:
    """One cycle: commit, fetch, predict, rebase or keep both sides, push, index what changed.

    ``progress(step, STEPS, what)`` is told each step as it starts."""
    started = time.perf_counter()
    step = progress or (lambda _n, _total, _what: None)
    step(0, STEPS, "checking the repository")
    check_git_version(root)
    repo = GitRepo(root)
    if not repo.is_toplevel():
        raise GitError(f"{root} is not a git repository", hint="set it up with: vaultsync sync --remote URL")
    # a rebase of ours left unfinished (a git child killed under a running daemon): recover anyway
    report = SyncReport(recovered=recover(repo) if recover_first or (repo.git_dir / REBASE_MARK).exists() else [])
    _refuse_if_busy(repo)
    host = host_name()
    try:
        branch = settings.branch or repo.current_branch()
        if not settings.branch and repo.rev("HEAD") is None:  # a fresh init or clone: join the remote's branch
            branch = adopt_remote_branch(repo, settings.remote, branch)
        tracking = f"refs/remotes/{settings.remote}/{branch}"
        report.branch = branch
        step(1, STEPS, "committing local changes")
        report.committed = commit_changes(repo, host)
        before = repo.rev("HEAD")
        for attempt in range(3):
            step(2, STEPS, f"fetching {settings.remote}/{branch}")
            upstream = _fetch(repo, settings.remote, branch, tracking)
            if upstream is None and attempt == 0:
                if before is None:
                    refuse_empty(repo, settings.remote, branch)
                if not settings.branch:  # a branch named in [git] may open a new one; the checked-out one may not
                    refuse_second_branch(repo, settings.remote, branch)
            if upstream is not None:
                step(3, STEPS, "integrating the other side's notes")
                _integrate(repo, upstream, host, report)
            head = repo.rev("HEAD")
            if head is None or not settings.push or (upstream is not None and repo.is_ancestor(head, upstream)):
                break
            if upstream is not None and not allow_deletions:
                report.blocked = _mass_deletion(repo, upstream, settings.max_delete_share)
                if report.blocked:
                    log.error("push refused: %s", report.blocked)
                    break
            step(4, STEPS, f"pushing to {settings.remote}/{branch}")
            if _push(repo, settings.remote, branch):
                report.pushed = True
                break
        report.changed = [p for p in repo.changed_paths(before, repo.rev("HEAD")) if not p.startswith(".vaultsync/")]
        if repo.rev(tracking) and repo.rev("HEAD"):
            track(repo, settings.remote, branch)
            report.ahead, report.behind = repo.ahead_behind(tracking)
    except GitError as exc:
        _save_state(root, {"error": str(exc).splitlines()[0]})
        raise
    if indexer is not None and report.changed:
        step(5, STEPS, f"indexing {len(report.changed)} pulled files")
        indexer.refresh(report.changed)
    step(STEPS, STEPS, "done")
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
                mark = mark_rebase(repo, head)  # recovery's journal: see vaultsync.sync.recover
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
