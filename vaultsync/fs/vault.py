"""A vault folder on disk (I/O): uri <-> path, the inside-the-vault rule, the walk, stat and reads.

Vault file I/O goes through this package (:mod:`vaultsync.fs`): this module finds and reads the
files, :mod:`vaultsync.fs.atomic` replaces a note's text (:meth:`Vault.write_text_atomic` goes
there), :mod:`vaultsync.fs.moves` renames files, :mod:`vaultsync.fs.appconfig` reads
``.obsidian/app.json``. The ``.vaultsync/`` state folder (:attr:`Vault.state_dir`) belongs to its
owners (the index, the daemon's lock and status, the API's ``api.json`` and exports), git's files
to :mod:`vaultsync.sync`. Two exceptions remain: the index's cold scan opens notes itself (its fast
path, with :func:`read_fd` and :func:`decode_note` from here) and the recovery from a broken rebase
restores working-tree files; ``tests/test_layout.py`` lists every module allowed file calls, and why.

A ``uri`` is a vault-relative, '/'-separated, NFC path (a note's identity everywhere); a ``path``
is an absolute ``Path``. Hidden entries (any segment starting with ``.``) are not part of the vault,
as in Obsidian. Symlinked folders are followed once; a loop is reported and skipped.

**Inside the vault** (:meth:`Vault.real_path`): a vault path counts only where its real location,
every symlink followed, is inside the vault root. A symlink leading out of the vault (a file or a
folder) is not part of the vault: the walk skips it with a warning, and no read or write goes
through one. (Obsidian follows such links; vaultsync does not, so that nothing outside the vault
is ever read, exported or rewritten.) Only regular files are read: a FIFO, socket or device named
``x.md`` is refused without blocking.
"""

from __future__ import annotations

import logging
import os
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from vaultsync.errors import ConfigError, NoteReadError, OutsideVaultError
from vaultsync.fs.appconfig import compile_ignore_filters, load_app_config
from vaultsync.fs.atomic import TEMP_SUFFIX, remove_stale_temp_files, write_note_atomic
from vaultsync.model import Diagnostic

log = logging.getLogger(__name__)

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
        self._temp_files: list[str] = []  # our temp files the last walk met (see remove_stale_temp_files)
        self.app = load_app_config(self.root)
        self._ignore = compile_ignore_filters(self.app.user_ignore_filters)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def uri_for(self, path: Path | str) -> str:
        rel = Path(path).resolve().relative_to(self.root).as_posix() if Path(path).is_absolute() else str(path)
        return unicodedata.normalize("NFC", rel)

    def path_for(self, uri: str) -> Path:
        """Where ``uri`` is on disk (lexically: symlinks are not followed; see :meth:`real_path`).
        A name stored decomposed (NFD, as macOS writes it) is found by its NFC uri."""
        rel = self._paths.get(uri)
        if rel is None:
            path = self.root / uri
            if uri.isascii() or os.path.lexists(path):
                return path
            rel = self._find_decomposed(uri)
            if rel is None:
                return path
        return self.root / rel

    def _find_decomposed(self, uri: str) -> str | None:
        """The on-disk spelling of a non-ASCII ``uri`` whose segments are stored in another
        Unicode normal form (a note created with an NFD name while the daemon runs)."""
        rel_parts: list[str] = []
        folder = str(self.root)
        for part in uri.split("/"):
            candidate = os.path.join(folder, part)
            if not os.path.lexists(candidate):
                try:
                    names = os.listdir(folder)
                except OSError:
                    return None
                match = next((n for n in names if unicodedata.normalize("NFC", n) == part), None)
                if match is None:
                    return None
                part, candidate = match, os.path.join(folder, match)
            rel_parts.append(part)
            folder = candidate
        rel = "/".join(rel_parts)
        if rel != uri:
            self._paths[uri] = rel
        return rel

    def exists(self, uri: str) -> bool:
        """Whether something (a file or a folder, symlinks followed) is at ``uri`` on disk."""
        return self.path_for(uri).exists()

    def is_folder(self, uri: str) -> bool:
        """Whether ``uri`` on disk is a folder (symlinks followed)."""
        return self.path_for(uri).is_dir()

    def files_under(self, folder: str) -> list[str]:
        """The uris of the files below ``folder`` on disk, hidden folders left out (what a folder
        event stands for). Unlike :meth:`walk`, symlinked folders are not entered and hidden files
        are listed: the caller filters them."""
        top = self.root / folder
        if not top.is_dir():
            return []
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found.extend(self.uri_for(Path(dirpath) / name) for name in filenames)
        return found

    def real_path(self, uri: str) -> Path:
        """The one rule for where a vault file really is: ``uri`` on disk with every symlink
        followed. Raises :class:`OutsideVaultError` when that location is outside the vault root
        (a symlink out, ``..``), so no caller can read or write through one."""
        try:
            real = os.path.realpath(self.path_for(uri))
        except (OSError, ValueError) as exc:
            raise OutsideVaultError(uri, f"cannot be resolved ({exc})") from None
        if not self._within_root(real):
            raise OutsideVaultError(uri)
        return Path(real)

    def is_inside(self, uri: str) -> bool:
        """Whether ``uri``'s real location (see :meth:`real_path`) is inside the vault."""
        try:
            self.real_path(uri)
        except OutsideVaultError:
            return False
        return True

    def os_path_for(self, uri: str) -> str:
        """``str(path_for(uri))`` without pathlib's cost, for a walk's worth of files."""
        return self._root_prefix + self._paths.get(uri, uri)  # os.path.join for a relative path

    def is_excluded(self, uri: str) -> bool:
        """True for files matched by ``userIgnoreFilters`` (still indexed and resolved, as in Obsidian)."""
        for pattern in self._ignore:  # a loop, not any(): a vault without filters pays nothing
            if pattern.search(uri):
                return True
        return False

    def _within_root(self, real: str) -> bool:
        """Whether a real (symlink-free, absolute) path is the vault root or inside it."""
        return real == self._root_prefix[:-1] or real.startswith(self._root_prefix)

    def remove_stale_temp_files(self, max_age_s: float = 3600.0) -> int:
        """Delete the temp files of interrupted writes that the last walk met (see
        :func:`vaultsync.fs.atomic.remove_stale_temp_files`); returns how many went."""
        removed = remove_stale_temp_files(self._temp_files, max_age_s)
        self._temp_files = []
        return removed

    def walk(self, stat_files: bool = True) -> WalkResult:
        """Every non-hidden file of the vault, with its stat; without ``stat_files``, each file's
        stat is :data:`UNSTATED`, sparing a system call per file (folders and symlinks are still
        stat'ed: for symlink loops and broken links)."""
        result = WalkResult()
        self._temp_files = []
        seen_dirs: set[tuple[int, int]] = set()
        try:
            root_stat = self.root.stat()
        except OSError as exc:
            raise ConfigError(f"cannot read the vault folder {self.root}: {exc.strerror}") from exc
        seen_dirs.add((root_stat.st_dev, root_stat.st_ino))
        self._walk_into(result, seen_dirs, stat_files)
        return result

    def _walk_into(self, result: WalkResult, seen: set[tuple[int, int]], stat_files: bool) -> None:
        """Depth first, each folder's entries in listing order, a subfolder where it is listed.

        One loop over a stack of listings rather than recursive generators: a warm scan of 20,000
        notes spends most of its time here, so each file costs as few Python steps as it can.
        """
        files, diags, paths, temp = result.files, result.diagnostics, self._paths, self._temp_files
        normalize, is_reg, is_dir = unicodedata.normalize, stat.S_ISREG, stat.S_ISDIR
        stack: list[tuple[Iterator[os.DirEntry[str]], str]] = []
        listing = self._listing(self.root, "", diags)
        if listing is not None:
            stack.append((listing, ""))
        while stack:
            entries, rel = stack[-1]
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    if name.endswith(TEMP_SUFFIX):
                        temp.append(entry.path)
                    continue
                child = rel + name
                try:
                    link = entry.is_symlink()
                except OSError:
                    link = False
                if link and not self._within_root(os.path.realpath(entry.path)):
                    diags.append(Diagnostic(child, "symlink-outside", "symlink leads outside the vault; skipped"))
                    continue
                st: os.stat_result | None = None
                if not stat_files:
                    try:
                        plain_file = entry.is_file(follow_symlinks=False)  # the kind from the listing
                    except OSError:
                        plain_file = False
                if stat_files or not plain_file:
                    try:
                        st = entry.stat()  # follows symlinks
                    except FileNotFoundError:
                        if entry.is_symlink():
                            diags.append(Diagnostic(child, "broken-symlink", "symlink points to nothing; skipped"))
                        continue  # vanished since the listing
                    except OSError as exc:
                        diags.append(Diagnostic(child, "unreadable", f"cannot stat: {exc.strerror}"))
                        continue
                    if is_dir(st.st_mode):
                        key = (st.st_dev, st.st_ino)
                        if key in seen:
                            diags.append(Diagnostic(child, "symlink-loop", "folder already visited (symlink loop); skipped"))
                            continue
                        seen.add(key)
                        sub = self._listing(Path(entry.path), child + "/", diags)
                        if sub is not None:
                            stack.append((sub, child + "/"))
                            break  # into the subfolder now; this listing goes on after it
                        continue
                    if not is_reg(st.st_mode):
                        continue
                uri = child if child.isascii() else normalize("NFC", child)
                if uri != child:
                    paths[uri] = child
                files[uri] = UNSTATED if st is None else FileStat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            else:
                stack.pop()

    @staticmethod
    def _listing(folder: Path, rel: str, diags: list[Diagnostic]) -> Iterator[os.DirEntry[str]] | None:
        try:
            return iter(list(os.scandir(folder)))
        except OSError as exc:
            diags.append(Diagnostic(rel or ".", "folder-unreadable", f"cannot list folder: {exc.strerror}"))
            return None

    def stat(self, uri: str) -> FileStat | None:
        """The file's stat, or None when it is missing, not a regular file (a folder, FIFO or
        socket named like a note) or outside the vault: what the walk would not list."""
        try:
            st = self.real_path(uri).stat()
        except (OSError, OutsideVaultError):
            return None
        return FileStat.of(st) if stat.S_ISREG(st.st_mode) else None

    def read_text(self, uri: str) -> str:
        """Read a note as text: only a regular file inside the vault (OutsideVaultError
        otherwise); huge, binary and non-UTF-8 files give a NoteReadError."""
        return read_note_text(self.real_path(uri), uri)

    def read_bytes(self, uri: str, limit: int = 1 << 30) -> bytes:
        """An attachment's bytes (an image to export), under the same rules as :meth:`read_text`."""
        return read_regular_file(self.real_path(uri), uri, limit)

    def read_note_at(self, uri: str, path: str, st: FileStat) -> tuple[FileStat, str]:
        """A note's stat and text for the index, from the path :meth:`os_path_for` gave for a file
        the walk found: 4 system calls, not 7. A file the walk did not stat (UNSTATED) is stat'ed
        before it is read, so that a change made meanwhile shows at the next warm scan. Raises
        OSError (FileNotFoundError when it vanished) or NoteReadError."""
        fd = os.open(path, READ_FLAGS)
        try:
            if st is UNSTATED:
                st = FileStat.of(os.fstat(fd))
            data = read_fd(fd, st.size)
        finally:
            os.close(fd)
        return st, decode_note(data, uri)

    def stat_at(self, path: str) -> FileStat | None:
        """The stat of a file the walk found (at the path :meth:`os_path_for` gave); None when gone."""
        try:
            return FileStat.of(os.stat(path))
        except OSError:
            return None

    def write_text_atomic(self, uri: str, text: str, expected: str | None) -> bool:
        """Replace a note's text atomically, inside the vault only; see :func:`write_note_atomic`."""
        return write_note_atomic(self.real_path(uri), uri, text, expected)


def read_note_text(path: Path, uri: str) -> str:
    """A note's text from ``path`` (already checked to be inside the vault: see
    :meth:`Vault.read_text`); huge, binary and non-UTF-8 files give a NoteReadError."""
    return decode_note(read_regular_file(path, uri, MAX_NOTE_BYTES + 1), uri)


def read_regular_file(path: Path, uri: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file: the open does not block on a FIFO, and a FIFO,
    socket or device is refused with a NoteReadError, as is a file that vanished."""
    try:
        fd = os.open(path, READ_FLAGS)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise NoteReadError(uri, "is not a regular file (a FIFO, socket or device); skipped")
            return read_fd(fd, st.st_size, limit)
        finally:
            os.close(fd)
    except FileNotFoundError as exc:
        raise NoteReadError(uri, "vanished while being read") from exc
    except IsADirectoryError as exc:
        raise NoteReadError(uri, "is a folder, not a note") from exc
    except OSError as exc:
        raise NoteReadError(uri, f"cannot read: {exc.strerror}") from exc


READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO never blocks a read


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


def is_note(uri: str) -> bool:
    return uri.lower().endswith(".md")
