"""The API's path checks: which paths a request may name (pure, but for the symlink rule and ``must_exist``).

A request names notes and folders by vault-relative paths. :func:`safe_uri` refuses anything that
is not plainly one (absolute paths, ``..``, hidden segments, encoded separators); :func:`checked`
applies the inside-the-vault rule (:meth:`vaultsync.fs.vault.Vault.real_path`) to the path an
operation finally uses. Every path from a request goes through here.
"""

from __future__ import annotations

import re
import unicodedata

from vaultsync.errors import NoteNotFoundError, OutsideVaultError, VaultsyncError
from vaultsync.fs.vault import Vault

_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCODED = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)


class PathRefusedError(VaultsyncError):
    """A path in a request is not a plain vault-relative path, or leads out of the vault."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"path {path!r} refused: {reason}", hint="send a vault-relative path such as 'folder/Note.md'")
        self.path = path


def safe_uri(vault: Vault, raw: object, *, must_exist: bool = False) -> str:
    """``raw`` as a vault uri, or :class:`PathRefusedError` when it is not plainly inside the vault.

    Refused: non-strings, empty paths, NUL, backslashes, absolute paths and drive letters,
    ``.``/``..`` segments, still-encoded dots or slashes (a second round of percent-encoding),
    hidden segments (``.vaultsync``, ``.obsidian``, ``.git`` are not part of the vault), and any
    path whose resolved location (symlinks followed) is outside the vault root.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise PathRefusedError(str(raw), "not a non-empty string")
    text = unicodedata.normalize("NFC", raw)
    if "\x00" in text or "\\" in text:
        raise PathRefusedError(raw, "NUL and backslashes are not allowed")
    if text.startswith(("/", "~")) or _DRIVE.match(text):
        raise PathRefusedError(raw, "absolute paths are not allowed")
    if _ENCODED.search(text):
        raise PathRefusedError(raw, "encoded dots, slashes or NULs are not allowed")
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PathRefusedError(raw, "empty, '.' and '..' segments are not allowed")
    if any(p.startswith(".") for p in parts):
        raise PathRefusedError(raw, "hidden files and folders are not part of the vault")
    checked(vault, text, raw)
    if must_exist and not vault.exists(text):
        raise NoteNotFoundError(text)
    return text


def checked(vault: Vault, uri: str, raw: object = None) -> str:
    """``uri`` if its real location is inside the vault (:meth:`Vault.real_path`), else
    :class:`PathRefusedError`. Every path an operation finally uses goes through here: also the
    one it settles on after adding ``.md``."""
    try:
        vault.real_path(uri)
    except OutsideVaultError as exc:
        raise PathRefusedError(str(raw if raw is not None else uri), exc.reason) from None
    return uri
