"""The daemon's lock and status files in ``.vaultsync/``: who watches a vault, and what it last did.

Light on purpose (no watchdog, no index): the query commands ask it whether a daemon keeps the
index live, and ``vaultsync status`` reads the status file the daemon writes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vaultsync.errors import VaultsyncError
from vaultsync.fs.vault import Vault

LOCK_NAME = "daemon.lock"
STATUS_NAME = "daemon.json"


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
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise DaemonRunningError(_read_pid(path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


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
