"""The only module that touches vault files: walking, ignore rules, uri <-> path, reading, atomic writes.

A ``uri`` is a vault-relative, '/'-separated, NFC path (a note's identity everywhere); a ``path``
is an absolute ``Path``. Hidden entries (any segment starting with ``.``) are not part of the vault,
as in Obsidian. Symlinked folders are followed once; a loop is reported and skipped.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from vaultsync.errors import ConfigError, NoteReadError, NoteWriteError
from vaultsync.model import Diagnostic

log = logging.getLogger(__name__)

CONFIG_DIR = ".obsidian"
STATE_DIR = ".vaultsync"
MAX_NOTE_BYTES = 16 * 1024 * 1024  # larger .md files are skipped with a warning
_BINARY_PROBE = 8192


class FileStat(NamedTuple):
    """What a warm scan compares to decide whether a file must be read again. (A named tuple:
    a cold scan makes one per file, and a frozen dataclass costs ten times as much to make.)"""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


UNSTATED = FileStat(-1, -1, -1, -1)  # a file a walk did not stat (see Vault.walk)


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The parts of ``.obsidian/app.json`` that change how links are resolved or written."""

    new_link_format: str = "shortest"
    use_markdown_links: bool = False
    always_update_links: bool = False
    user_ignore_filters: tuple[str, ...] = ()
    attachment_folder_path: str = "/"


@dataclass(slots=True)
class WalkResult:
    """Every file of the vault, with its stat (:data:`UNSTATED` from a walk told not to stat
    files), and the problems met on the way."""

    files: dict[str, FileStat] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


class Vault:
    """A vault folder on disk."""

    def __init__(self, root: Path | str) -> None:
        root = Path(root).expanduser()
        if not root.exists():
            raise ConfigError(f"vault not found: {root}")
        if not root.is_dir():
            raise ConfigError(f"not a folder: {root}")
        if not os.access(root, os.R_OK | os.X_OK):
            raise ConfigError(f"no permission to read the vault folder: {root}")
        self.root = root.resolve()
        self._root_prefix = os.path.join(str(self.root), "")  # with its trailing separator
        self._paths: dict[str, str] = {}  # uri -> relative path on disk, where they differ (NFD names)
        self.app = load_app_config(self.root)
        self._ignore = compile_ignore_filters(self.app.user_ignore_filters)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def uri_for(self, path: Path | str) -> str:
        rel = Path(path).resolve().relative_to(self.root).as_posix() if Path(path).is_absolute() else str(path)
        return unicodedata.normalize("NFC", rel)

    def path_for(self, uri: str) -> Path:
        return self.root / self._paths.get(uri, uri)

    def os_path_for(self, uri: str) -> str:
        """``str(path_for(uri))`` without pathlib's cost, for a walk's worth of files."""
        return self._root_prefix + self._paths.get(uri, uri)  # os.path.join for a relative path

    def is_excluded(self, uri: str) -> bool:
        """True for files matched by ``userIgnoreFilters`` (still indexed and resolved, as in Obsidian)."""
        for pattern in self._ignore:  # a loop, not any(): a vault without filters pays nothing
            if pattern.search(uri):
                return True
        return False

    def walk(self, stat_files: bool = True) -> WalkResult:
        """Every non-hidden file of the vault, with its stat; without ``stat_files``, each file's
        stat is :data:`UNSTATED`, sparing a system call per file (folders and symlinks are still
        stat'ed: for symlink loops and broken links)."""
        result = WalkResult()
        seen_dirs: set[tuple[int, int]] = set()
        try:
            root_stat = self.root.stat()
        except OSError as exc:
            raise ConfigError(f"cannot read the vault folder {self.root}: {exc.strerror}") from exc
        seen_dirs.add((root_stat.st_dev, root_stat.st_ino))
        for rel, st in self._walk_dir(self.root, "", seen_dirs, result.diagnostics, stat_files):
            uri = unicodedata.normalize("NFC", rel)
            if uri != rel:
                self._paths[uri] = rel
            result.files[uri] = UNSTATED if st is None else FileStat.of(st)
        return result

    def _walk_dir(
        self, folder: Path, rel: str, seen: set[tuple[int, int]], diags: list[Diagnostic], stat_files: bool
    ) -> Iterator[tuple[str, os.stat_result | None]]:
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            diags.append(Diagnostic(rel or ".", "folder-unreadable", f"cannot list folder: {exc.strerror}"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = f"{rel}{entry.name}"
            if not stat_files:
                try:
                    plain_file = entry.is_file(follow_symlinks=False)  # the kind from the listing
                except OSError:
                    plain_file = False
                if plain_file:
                    yield child, None
                    continue
            try:
                st = entry.stat()  # follows symlinks
            except FileNotFoundError:
                if entry.is_symlink():
                    diags.append(Diagnostic(child, "broken-symlink", "symlink points to nothing; skipped"))
                continue  # vanished since the listing
            except OSError as exc:
                diags.append(Diagnostic(child, "unreadable", f"cannot stat: {exc.strerror}"))
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    diags.append(Diagnostic(child, "symlink-loop", "folder already visited (symlink loop); skipped"))
                    continue
                seen.add(key)
                yield from self._walk_dir(Path(entry.path), child + "/", seen, diags, stat_files)
            elif stat.S_ISREG(st.st_mode):
                yield child, st

    def stat(self, uri: str) -> FileStat | None:
        try:
            st = self.path_for(uri).stat()
        except OSError:
            return None
        return FileStat.of(st)

    def read_text(self, uri: str) -> str:
        """Read a note as text, refusing huge, binary and non-UTF-8 files with a NoteReadError."""
        return read_note_text(self.path_for(uri), uri)

    def write_text_atomic(self, uri: str, text: str, expected: str | None) -> bool:
        """Replace a note's text atomically; see :func:`write_note_atomic`."""
        return write_note_atomic(self.path_for(uri), uri, text, expected)


def read_note_text(path: Path, uri: str) -> str:
    try:
        fd = os.open(path, READ_FLAGS)
        try:
            data = read_fd(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
    except FileNotFoundError as exc:
        raise NoteReadError(uri, "vanished while being read") from exc
    except IsADirectoryError as exc:
        raise NoteReadError(uri, "is a folder, not a note") from exc
    except OSError as exc:
        raise NoteReadError(uri, f"cannot read: {exc.strerror}") from exc
    return decode_note(data, uri)


READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def read_fd(fd: int, size: int, limit: int = MAX_NOTE_BYTES + 1) -> bytes:
    """The rest of an open file, at most ``limit`` bytes (enough for :func:`decode_note` to refuse
    a huge one): one read when the file is still ``size`` bytes long, as a regular file's read
    returns less than asked only at its end. (A file object's read(limit) would first allocate
    ``limit`` bytes, for every note.)"""
    data = os.read(fd, min(size + 1, limit))
    if len(data) <= size or len(data) >= limit:
        return data
    chunks, total = [data], len(data)
    while total < limit and (chunk := os.read(fd, min(1 << 20, limit - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def decode_note(data: bytes, uri: str) -> str:
    if len(data) > MAX_NOTE_BYTES:
        raise NoteReadError(uri, f"larger than {MAX_NOTE_BYTES // (1024 * 1024)} MiB; skipped")
    if b"\x00" in data[:_BINARY_PROBE]:
        raise NoteReadError(uri, "looks binary (NUL bytes); skipped")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteReadError(
            uri, f"not valid UTF-8 (byte {exc.start}); skipped", hint="re-save the note as UTF-8"
        ) from exc


def write_note_atomic(path: Path, uri: str, text: str, expected: str | None) -> bool:
    """Write ``text`` through a temp file in the same folder, fsync, then replace, keeping the mode.

    When ``expected`` is given, the file is re-read just before the replace; if it no longer holds
    ``expected`` (the user saved meanwhile), nothing is written and False is returned.
    """
    data = text.encode("utf-8")
    path = Path(os.path.realpath(path))  # a symlinked note: replace its target, keep the link
    folder = path.parent
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".vaultsync-tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if expected is not None:
            try:
                current = path.read_bytes().decode("utf-8", errors="surrogateescape")
            except FileNotFoundError:
                current = None
            if current != expected:
                os.unlink(tmp)
                return False
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise NoteWriteError(uri, f"cannot write: {exc.strerror}") from exc
    _fsync_dir(folder)
    return True


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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


def is_note(uri: str) -> bool:
    return uri.lower().endswith(".md")


def resolve_vault(path: str | os.PathLike[str] | None) -> Path:
    """The vault to use: the given folder, or the bundled sample vault."""
    if path is not None:
        return Path(path)
    bundled = Path(__file__).resolve().parent.parent / "vault"
    if not bundled.is_dir():
        raise ConfigError("no vault given and the bundled sample vault is not installed", hint="pass VAULT")
    return bundled
