"""The API's export jobs as records (pure but for their output's size): state, progress, result file.

An export asked for over the API runs on :class:`vaultsync.api.operations.ApiService`'s job pool;
its :class:`Job` is what ``GET /exports/{id}`` shows. The result is written under the vault's
state folder (``.vaultsync/exports/<id>/``, :data:`EXPORTS_DIR`), never among the notes, named
from the job's title by :func:`file_stem`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultsync.errors import VaultsyncError

EXPORTS_DIR = "exports"
MAX_JOBS_KEPT = 50


class JobNotFoundError(VaultsyncError):
    """No export job has this id."""


class JobNotReadyError(VaultsyncError):
    """The export job has not finished (or failed), so there is no result yet."""


@dataclass(slots=True)
class Job:
    """One export running (or run) on the job pool."""

    id: str
    format: str
    title: str
    state: str = "queued"  # queued, running, done, failed
    done: int = 0
    total: int = 0
    created: float = field(default_factory=time.time)
    finished: float | None = None
    notes: int = 0
    output: Path | None = None
    error: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "format": self.format,
            "title": self.title,
            "state": self.state,
            "progress": {"done": self.done, "total": self.total},
            "created": self.created,
            "finished": self.finished,
        }
        if self.state == "done" and self.output is not None:
            data["result"] = {
                "filename": self.output.name,
                "size": self.output.stat().st_size if self.output.exists() else 0,
                "notes": self.notes,
                "url": f"/exports/{self.id}/result",
            }
        if self.error is not None:
            data["error"] = self.error
        return data


MAX_NAME_BYTES = 200  # an export's file name (from its title, UTF-8): file systems allow 255


def file_stem(title: str) -> str:
    """A file name for ``title``: safe characters, at most :data:`MAX_NAME_BYTES` bytes (whole characters)."""
    safe = re.sub(r"[^\w .()-]+", "_", title).strip(" .")
    cut = safe.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore").strip(" .")
    return cut or "export"
