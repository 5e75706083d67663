"""Which branch of which remote a vault syncs, so that a second machine joins the first one's branch.

It owns the set-up (:func:`setup_repository`: ``git init``, the remote, the ``.gitignore``), the
remote's branches and the branch its HEAD names as ``git ls-remote --symref`` gives them
(:func:`remote_heads`), the branch an unborn checkout adopts (:func:`adopt_remote_branch`: the
remote's, whatever it is called; a fresh empty remote takes the local one), the refusal to open a
second branch beside the remote's (:func:`refuse_second_branch`) or to sync nothing at all
(:func:`refuse_empty`), and the tracking configuration that makes plain git and ``vaultsync
status`` agree (:func:`track`). Each refusal is a GitError whose hint is the command that fixes
it. Git runs through :mod:`vaultsync.sync.git`; the cycle is :mod:`vaultsync.sync.cycle`.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from vaultsync.config import GitSettings
from vaultsync.errors import ConfigError, GitError
from vaultsync.sync.git import GitRepo, check_git_version, run_git, split_z

log = logging.getLogger(__name__)

GITIGNORE_LINES = (".obsidian/workspace*", ".trash/", ".vaultsync/")
DEFAULT_BRANCH = "main"  # a new repository's branch until the remote names one
# what git says when the URL itself is wrong (not the network, not the credentials)
_NOT_A_REPO = re.compile(r"does not appear to be a git repository|[Rr]epository .*not found|No such file or directory")


@dataclass(frozen=True, slots=True)
class RemoteHeads:
    """The remote's branches (each has commits) and the one its HEAD names, when that one exists."""

    branches: tuple[str, ...]
    head: str | None


def remote_heads(root: Path, where: str) -> RemoteHeads:
    """Read the branches of ``where`` (a remote's name or a URL) with ``git ls-remote --symref``;
    a remote git cannot read raises a GitError."""
    proc = run_git(root, ["ls-remote", "--symref", where, "HEAD", "refs/heads/*"], check=False)
    if proc.returncode != 0:
        raise GitError(f"cannot read the branches of {where!r}", cmd=("git", "ls-remote", "--symref", where),
                       returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                       hint=f"check the network and the URL: git -C {_q(root)} ls-remote {_q(where)}")  # fmt: skip
    branches, head = [], None
    for line in proc.stdout.splitlines():
        found = re.match(r"ref: refs/heads/(\S+)\tHEAD$", line)
        if found:
            head = found.group(1)
        elif "\trefs/heads/" in line:
            branches.append(line.split("\trefs/heads/", 1)[1])
    return RemoteHeads(tuple(sorted(branches)), head if head in branches else None)


def setup_repository(root: Path, url: str, settings: GitSettings) -> bool:
    """Make ``root`` a repository syncing with ``url``: ``git init`` when it is not one (on the
    remote's branch, whatever it is called), the remote, and a ``.gitignore`` covering Obsidian's
    workspace, the trash and ``.vaultsync/``. A URL git cannot read as a repository is a
    ConfigError and leaves ``root`` as it was. Returns True when a repository was created."""
    repo = GitRepo(root)
    check_git_version(root)
    url = _local_path_absolute(url)
    created = not repo.is_toplevel()
    current = repo.run("remote", "get-url", settings.remote, check=False) if not created else None
    if current is not None and current.returncode == 0 and current.stdout.strip() != url:
        raise GitError(
            f"remote {settings.remote!r} already points to {current.stdout.strip()}",
            hint=f"change it with: git -C {_q(root)} remote set-url {settings.remote} {_q(url)}",
        )
    try:
        heads = remote_heads(root, url)
    except GitError as exc:
        if _NOT_A_REPO.search(exc.stderr):
            raise ConfigError(f"--remote {url}: not a git repository git can read ({exc.stderr.strip().splitlines()[0]})",
                              hint="pass the URL `git clone` takes; make a new one with: git init --bare PATH") from None  # fmt: skip
        raise
    if created:
        branch = settings.branch or heads.head or (heads.branches[0] if len(heads.branches) == 1 else DEFAULT_BRANCH)
        repo.run("init", "-q", "-b", branch)
        log.info("initialised a git repository in %s (branch %s)", root, branch)
    ignore = root / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in lines]
    if missing:
        text = "\n".join([*lines, *missing]) + "\n"
        ignore.write_text(text, encoding="utf-8")
    if current is None or current.returncode != 0:
        repo.run("remote", "add", settings.remote, url)
    return created


def adopt_remote_branch(repo: GitRepo, remote: str, local: str) -> str:
    """The branch an unborn checkout (no commit yet: a fresh ``git init``, or a ``git clone`` whose
    remote HEAD names a branch that does not exist) syncs: the remote's HEAD branch, else the
    local name when the remote has it, else the remote's only branch; a fresh empty remote takes
    the local branch. HEAD moves to that branch (the index and the notes are not touched)."""
    heads = remote_heads(repo.root, remote)
    if not heads.branches:
        return local
    if heads.head:
        chosen = heads.head
    elif local in heads.branches:
        chosen = local
    elif len(heads.branches) == 1:
        chosen = heads.branches[0]
    else:
        raise GitError(
            f"{repo.root}: the remote {remote!r} has the branches {', '.join(heads.branches)} and its HEAD names none of "
            f"them, so which one to sync is not known",
            hint=f"pick one and sync: git -C {_q(repo.root)} symbolic-ref HEAD refs/heads/{heads.branches[0]} "
            f"&& vaultsync sync {_q(repo.root)}",
        )
    if chosen == local:
        return local
    if repo.rev(f"refs/heads/{chosen}"):
        raise GitError(f"{repo.root}: HEAD is on the unborn branch {local!r}, the remote syncs {chosen!r}",
                       hint=f"check it out and sync: git -C {_q(repo.root)} checkout {chosen} && vaultsync sync {_q(repo.root)}")  # fmt: skip
    repo.run("symbolic-ref", "HEAD", f"refs/heads/{chosen}")
    repo.run("config", "--remove-section", f"branch.{local}", check=False)  # a clone's tracking of the missing branch
    log.info("%s: following the remote's branch %s (HEAD was on the unborn %s)", repo.root, chosen, local)
    return chosen


def refuse_second_branch(repo: GitRepo, remote: str, branch: str) -> None:
    """Raise when the remote lacks ``branch`` (with commits here) but has others: a push would
    open a second branch beside them and the machines would diverge in silence. A fresh empty
    remote passes (the push creates the branch)."""
    heads = remote_heads(repo.root, remote)
    if not heads.branches:
        return
    target = heads.head or heads.branches[0]
    root = _q(repo.root)
    raise GitError(
        f"{repo.root}: the remote {remote!r} has no branch {branch!r} (it has {', '.join(heads.branches)}); "
        f"pushing it would start a second history beside the remote's",
        hint=f"join the remote's branch (the notes of both are kept): git -C {root} branch -m {branch} {target} "
        f"&& vaultsync sync {root}",
    )


def refuse_empty(repo: GitRepo, remote: str, branch: str) -> None:
    """Raise for a cycle with nothing anywhere: no commit here, no note to commit, no branch there."""
    root = _q(repo.root)
    raise GitError(
        f"{repo.root}: nothing to sync: the branch {branch!r} has no commit, the vault has no file to commit "
        f"and the remote {remote!r} has no branch {branch!r}",
        hint=f"write a note in the vault, then run: vaultsync sync {root}",
    )


def track(repo: GitRepo, remote: str, branch: str) -> None:
    """Make ``branch`` track ``remote``'s branch of the same name (plain ``git status`` and
    ``git pull`` then agree with vaultsync); a no-op when it already does."""
    want = {f"branch.{branch}.remote": remote, f"branch.{branch}.merge": f"refs/heads/{branch}"}
    proc = repo.run("config", "-z", "--get-regexp", r"^branch\.", check=False)
    have = dict(entry.partition("\n")[::2] for entry in split_z(proc.stdout))
    for key, value in want.items():
        if have.get(key) != value:  # git prints the section and the key in lower case, the branch as it is
            repo.run("config", key, value)


def _local_path_absolute(url: str) -> str:
    """A local path as git clone reads it (relative to the current folder, not to the vault);
    other URLs (``scheme://``, ``host:path``) as they are."""
    if "://" in url or ":" in url.split("/", 1)[0]:
        return url
    return os.path.abspath(os.path.expanduser(url))


def _q(value: str | Path) -> str:
    return shlex.quote(str(value))
