"""The API's file in the vault's state folder, ``.vaultsync/api.json`` (I/O): url, port, token, pid.

The plugin reads it to find the server and the token it must send. It is written atomically and
readable by its owner only (mode 0600 from creation on); the token is kept across restarts.
This is vaultsync's own state, not a vault file, so it is written here rather than through
:mod:`vaultsync.fs`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

API_FILE = "api.json"


def load_or_create_token(state_dir: Path) -> str:
    """The token kept in ``api.json``, or a new random one."""
    try:
        token = json.loads((state_dir / API_FILE).read_text(encoding="utf-8")).get("token")
    except (OSError, ValueError, AttributeError):
        token = None
    if isinstance(token, str) and len(token) >= 32:
        return token
    return secrets.token_urlsafe(32)


def write_api_file(state_dir: Path, data: dict[str, Any]) -> Path:
    """Write ``api.json`` atomically, readable by the owner only (mode 0600 from creation on)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / API_FILE
    tmp = state_dir / f".{API_FILE}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(data, indent=1).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path
