"""Private: the one wrapper that runs git, one process at a time, with a readable GitError.

Every git call of vaultsync goes through :func:`run_git` (STYLE 4.9): ``GIT_*`` variables that would
point git elsewhere are scrubbed, prompts and editors are off, a busy ``index.lock`` is waited for
briefly, and a failure raises GitError with the command, exit code, stdout and stderr.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

from vaultsync.errors import GitError

MIN_GIT = (2, 38)  # merge-tree --write-tree
_KEEP_ENV = {"GIT_ASKPASS", "GIT_EXEC_PATH", "GIT_ALLOW_PROTOCOL", "GIT_PROXY_COMMAND"}
_KEEP_PREFIXES = ("GIT_AUTHOR_", "GIT_COMMITTER_", "GIT_CONFIG_", "GIT_SSH", "GIT_SSL_", "GIT_HTTP_", "GIT_TRACE")
GIT_LOCK = threading.Lock()  # one git process at a time, whoever asks
_version_ok = False


def git_env() -> dict[str, str]:
    """The environment without the ``GIT_*`` variables that would point git elsewhere (GIT_DIR,
    GIT_INDEX_FILE, GIT_WORK_TREE... set when we run inside a hook), keeping identity, config and
    transport settings; git never prompts and never opens an editor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP_ENV or k.startswith(_KEEP_PREFIXES)}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_EDITOR="true", GIT_MERGE_AUTOEDIT="no", LC_ALL="C")
    return env


def run_git(
    root: Path, args: list[str], *, check: bool = True, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` in ``root`` (``input`` on its stdin) and capture its output; a failure
    raises a GitError showing the command, its exit code, stdout and stderr."""
    cmd = ("git", *args)
    for delay in (0.05, 0.1, 0.2, 0.4, 0.8, 0):
        with GIT_LOCK:
            try:
                proc = subprocess.run(
                    cmd, cwd=root, env={**git_env(), **(env or {})}, capture_output=True, text=True,
                    encoding="utf-8", errors="surrogateescape", check=False,
                    input=input, stdin=subprocess.DEVNULL if input is None else None,
                )  # fmt: skip
            except FileNotFoundError:
                raise GitError("git is not installed", hint="install git >= 2.38") from None
        # another tool's `git status` holds index.lock for a moment: wait for it rather than fail
        if not (proc.returncode and "index.lock': File exists" in proc.stderr and delay):
            break
        time.sleep(delay)
    if check and proc.returncode != 0:
        raise GitError(f"git {args[0] if args else ''} failed in {root}", cmd=cmd, returncode=proc.returncode,
                       stdout=proc.stdout, stderr=proc.stderr)  # fmt: skip
    return proc


def check_git_version(root: Path) -> None:
    global _version_ok
    if _version_ok:
        return
    out = run_git(root, ["--version"]).stdout
    found = tuple(int(n) for n in re.findall(r"\d+", out)[:2])
    if found < MIN_GIT:
        raise GitError(f"git {'.'.join(map(str, found))} is too old", hint="vaultsync needs git >= 2.38 (merge-tree --write-tree)")
    _version_ok = True


def host_name() -> str:
    """This machine's short name, safe inside a file name."""
    return re.sub(r"[^\w.-]+", "-", socket.gethostname().split(".")[0]) or "host"


def split_z(text: str) -> list[str]:
    return [p for p in text.split("\0") if p]


class GitRepo:
    """A vault's git repository; each query is a small method over :func:`run_git`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._identity: list[str] | None = None

    def run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        if self._identity is None:
            # commits need an identity; a machine without one commits as vaultsync@host
            known = run_git(self.root, ["config", "user.email"], check=False).returncode == 0
            known = known or ("GIT_AUTHOR_EMAIL" in os.environ and "GIT_COMMITTER_EMAIL" in os.environ)
            self._identity = [] if known else ["-c", "user.name=vaultsync", "-c", f"user.email=vaultsync@{host_name()}"]
        return run_git(self.root, [*self._identity, *args], check=check, env=env, input=input)

    def out(self, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
        return self.run(*args, env=env, input=input).stdout

    def is_toplevel(self) -> bool:
        proc = run_git(self.root, ["rev-parse", "--show-toplevel"], check=False)
        return proc.returncode == 0 and Path(proc.stdout.strip()).resolve() == self.root.resolve()

    @property
    def git_dir(self) -> Path:
        return self.root / self.out("rev-parse", "--git-dir").strip()

    def rev(self, ref: str) -> str | None:
        proc = self.run("rev-parse", "-q", "--verify", ref + "^{commit}", check=False)
        return proc.stdout.strip() or None

    def current_branch(self) -> str:
        proc = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        if proc.returncode != 0:
            raise GitError(f"{self.root}: HEAD is detached", hint="check out the branch to sync, or set [git] branch")
        return proc.stdout.strip()

    def is_ancestor(self, a: str, b: str) -> bool:
        return self.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0

    def ahead_behind(self, upstream: str) -> tuple[int, int]:
        left, right = self.out("rev-list", "--left-right", "--count", f"HEAD...{upstream}").split()
        return int(left), int(right)

    def entries(self, rev: str, paths: list[str]) -> dict[str, tuple[str, str]]:
        """path -> (mode, blob) in ``rev`` for those of ``paths`` that exist there."""
        out = self.out("--literal-pathspecs", "ls-tree", "-z", "-r", rev, "--", *paths)
        found = {}
        for line in split_z(out):
            meta, path = line.split("\t", 1)
            mode, _kind, oid = meta.split()
            found[path] = (mode, oid)
        return found

    def changed_paths(self, old: str | None, new: str | None) -> list[str]:
        if old == new or new is None:
            return []
        base = old or self.out("hash-object", "-t", "tree", "/dev/null").strip()
        return split_z(self.out("diff", "--name-only", "-z", "--no-renames", base, new))


# -- set-up and recovery ---------------------------------------------------------------------------


