"""The daemon's files in the vault's state folder (I/O): its lock, its status file and its log.

``.vaultsync/daemon.lock`` (an flock held while a daemon runs, holding its pid) keeps one daemon
per vault; ``.vaultsync/daemon.json`` is the status it rewrites after every batch, which
``vaultsync status`` reads; ``.vaultsync/daemon.log`` is its rotated log. These are the daemon's
own files, not vault files, so they are written here rather than through :mod:`vaultsync.fs`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vaultsync.errors import VaultsyncError
from vaultsync.fs.vault import Vault

LOCK_NAME = "daemon.lock"
STATUS_NAME = "daemon.json"
LOG_NAME = "daemon.log"


class DaemonRunningError(VaultsyncError):
    """Another daemon already watches this vault."""

    def __init__(self, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"vaultsync is already watching this vault ({who})", hint="stop it first, or use `vaultsync status`")
        self.pid = pid


@contextlib.contextmanager
def vault_lock(vault: Vault) -> Iterator[None]:
    """Hold ``.vaultsync/daemon.lock`` (flock) for as long as the daemon runs."""
    vault.state_dir.mkdir(exist_ok=True)
    path = vault.state_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _take(fd, path)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def _take(fd: int, path: Path) -> None:
    """Take the lock, or raise DaemonRunningError. A query probing whether a daemon runs
    (:func:`is_locked`) holds a shared lock for a moment: that is waited out (up to 0.5 s); a
    daemon holds the lock for as long as it runs."""
    deadline = time.monotonic() + 0.5
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if time.monotonic() >= deadline:
                raise DaemonRunningError(_read_pid(path)) from None
        time.sleep(0.01)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def is_locked(vault: Vault) -> int | None:
    """The pid of the daemon holding the vault's lock, or None when none runs."""
    path = vault.state_dir / LOCK_NAME
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _read_pid(path) or -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def write_status(vault: Vault, status: dict[str, Any]) -> None:
    """Replace ``daemon.json`` with ``status`` (through a temp file: a reader never sees half of
    it); a failure is ignored, as the next batch writes it again."""
    path = vault.state_dir / STATUS_NAME
    data = json.dumps(status, indent=1)
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(prefix=".daemon.", dir=vault.state_dir)
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
        os.replace(tmp, path)


def read_status(vault: Vault) -> dict[str, Any]:
    """What ``vaultsync status`` shows: the daemon's last status file and whether it still runs."""
    path = vault.state_dir / STATUS_NAME
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    pid = is_locked(vault)
    data["running"] = pid is not None
    if pid is None:
        data["state"] = "not running"
    elif "started" in data:
        data["uptime_s"] = round(time.time() - float(data["started"]), 1)
    return data


def setup_logging(vault: Vault, level: int = logging.INFO) -> None:
    """Daemon logs go to ``.vaultsync/daemon.log`` (rotated at 1 MB, 3 kept) as well as to stderr
    (the CLI's handler)."""
    import logging.handlers  # noqa: PLC0415 - here: a query asking whether a daemon runs need not load it

    vault.state_dir.mkdir(exist_ok=True)
    logger = logging.getLogger("vaultsync")
    handler = logging.handlers.RotatingFileHandler(vault.state_dir / LOG_NAME, maxBytes=1_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
