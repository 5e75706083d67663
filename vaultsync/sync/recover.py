"""Repair what an interrupted sync cycle left in a vault's repository (run before every cycle).

:func:`recover` removes stale git locks (every ``*.lock`` in the git dir that no git process of
ours holds), undoes an interrupted rebase of ours without ``reset --hard`` (git's state dropped,
HEAD back on the branch, the index and tree back to HEAD, text no commit knows kept as a conflict
copy, the autostash kept in the stash list and applied again), aborts an interrupted merge, and
restores the user's text from a conflicting autostash. Its journal is :data:`REBASE_MARK`, which
the cycle writes before it rebases (:func:`mark_rebase`). The cycle itself is
:mod:`vaultsync.sync.cycle`; git runs through :mod:`vaultsync.sync.git`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from vaultsync.errors import GitError
from vaultsync.sync.git import GIT_LOCK, GitRepo, git_env, host_name, split_z

log = logging.getLogger(__name__)

REBASE_MARK = "vaultsync-rebase"  # in the git dir while our rebase runs: recovery may undo it
CONFLICT_RE = re.compile(r" \(conflict [^()/]+ \d{4}-\d{2}-\d{2} \d{4}(?: \d+)?\)(?:\.[^./]+)?$")


def mark_rebase(repo: GitRepo, head: str) -> Path:
    """Write recovery's journal before a rebase: the head it starts from and the branch."""
    mark = repo.git_dir / REBASE_MARK
    branch = repo.run("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
    _write_mark(mark, {"head": head, "branch": branch})
    return mark


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


def _conflict_name(root: Path, path: str, who: str, when: float, taken: set[str] | None = None) -> str:
    folder, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    base = f"{stem} (conflict {who} {time.strftime('%Y-%m-%d %H%M', time.localtime(when))}"
    for n in range(1, 1000):
        candidate = (f"{folder}/" if folder else "") + base + (f" {n}" if n > 1 else "") + ")" + dot + ext
        if candidate not in (taken or set()) and not (root / candidate).exists():
            return candidate
    raise GitError(f"too many conflict copies of {path!r}")
