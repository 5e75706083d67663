"""Obsidian's own settings that change how vaultsync reads a vault: ``.obsidian/app.json`` (I/O).

:func:`load_app_config` reads the file once per :class:`vaultsync.fs.vault.Vault` (a missing or
broken one gives Obsidian's defaults); :func:`compile_ignore_filters` turns ``userIgnoreFilters``
into patterns, as Obsidian does (pure).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CONFIG_DIR = ".obsidian"


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The parts of ``.obsidian/app.json`` that change how links are resolved or written."""

    new_link_format: str = "shortest"
    use_markdown_links: bool = False
    always_update_links: bool = False
    user_ignore_filters: tuple[str, ...] = ()
    attachment_folder_path: str = "/"


def load_app_config(root: Path) -> AppConfig:
    """Read ``.obsidian/app.json``; a missing or broken file gives Obsidian's defaults."""
    path = root / CONFIG_DIR / "app.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AppConfig()
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s); using Obsidian's defaults", path, exc)
        return AppConfig()
    if not isinstance(raw, dict):
        return AppConfig()
    filters = raw.get("userIgnoreFilters") or []
    return AppConfig(
        new_link_format=str(raw.get("newLinkFormat", "shortest")),
        use_markdown_links=bool(raw.get("useMarkdownLinks", False)),
        always_update_links=bool(raw.get("alwaysUpdateLinks", False)),
        user_ignore_filters=tuple(str(f) for f in filters if isinstance(f, str)),
        attachment_folder_path=str(raw.get("attachmentFolderPath", "/")),
    )


def compile_ignore_filters(filters: tuple[str, ...]) -> list[re.Pattern[str]]:
    """Obsidian's ``updateUserIgnoreFilters``: ``/re/`` is a case-insensitive regex, anything else
    a case-insensitive prefix of the vault path (so ``Archive`` also hits ``Archive2.md``)."""
    patterns = []
    for item in filters:
        item = item.strip()
        if not item:
            continue
        if len(item) > 2 and item.startswith("/") and item.endswith("/"):
            try:
                patterns.append(re.compile(item[1:-1], re.I))
            except re.error as exc:
                log.warning("userIgnoreFilters: %r is not a valid pattern (%s); ignored", item, exc)
        else:
            patterns.append(re.compile("^" + re.escape(item), re.I))
    return patterns
