"""Vault files: walking, ignore rules, uri <-> path, the inside-the-vault rule, reading, atomic writes.

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

import ctypes
import errno
import json
import logging
import os
import re
import secrets
import stat
import sys
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from vaultsync.errors import ConfigError, NoteReadError, NoteWriteError, OutsideVaultError
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
        """Delete the temp files of interrupted writes (ours only: ``.*.vaultsync-tmp``) that the
        last walk met: those whose writer (named in the file's name) is dead, and any older than
        ``max_age_s`` (a live write takes milliseconds; an old name may carry a reused pid).
        Returns how many went."""
        removed = 0
        now = time.time()
        for path in self._temp_files:
            try:
                alive = _writer_alive(os.path.basename(path))
                if alive is False or now - os.lstat(path).st_mtime >= max_age_s:
                    os.unlink(path)
                    removed += 1
                    log.info("removed a temp file left by an interrupted write: %s", path)
            except OSError:
                pass
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
                if entry.name.endswith(TEMP_SUFFIX):
                    self._temp_files.append(entry.path)
                continue
            child = f"{rel}{entry.name}"
            try:
                link = entry.is_symlink()
            except OSError:
                link = False
            if link and not self._within_root(os.path.realpath(entry.path)):
                diags.append(Diagnostic(child, "symlink-outside", "symlink leads outside the vault; skipped"))
                continue
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


TEMP_SUFFIX = ".vaultsync-tmp"


_TEMP_NAME_BYTES = 27  # "." + 8 hex digits of the pid + 4 random hex digits + TEMP_SUFFIX


def temp_name() -> str:
    """A temp file's name: short and of fixed length (27 bytes), whatever the note's name, so a
    note whose name is near the 255-byte limit can still be written. It starts with the writer's
    pid (8 hex digits), so a later run can tell a dead writer's leftovers from a live write."""
    return f".{os.getpid() & 0xFFFFFFFF:08x}{secrets.token_hex(2)}{TEMP_SUFFIX}"


def _writer_alive(name: str) -> bool | None:
    """Whether the process that made temp file ``name`` still runs (None: not one of our names)."""
    head = name[1:9]
    if len(name) != _TEMP_NAME_BYTES or not name.endswith(TEMP_SUFFIX) or not all(c in "0123456789abcdef" for c in head):
        return None
    pid = int(head, 16)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, another user's
    return True


def write_note_atomic(path: Path, uri: str, text: str, expected: str | None) -> bool:
    """Write ``text`` through a temp file in the same folder (fsync), then put it in place, keeping
    the mode; False, and nothing written, when ``expected`` is given and the file no longer holds
    it (the user saved meanwhile: their text wins).

    The check and the replace are one step where the system can swap two names atomically
    (``renameat2(RENAME_EXCHANGE)`` on Linux, ``renamex_np(RENAME_SWAP)`` on macOS): the new file
    takes the note's name and the file it replaced comes out under the temp name, where it is
    compared with ``expected``. If they differ (a save landed before the swap), the swap is undone,
    and a write that reached our file in that instant is kept as the newest save. Where there is
    no such call (or the file system refuses it), the file is re-read just before an
    ``os.replace``: a save in the instant between the two could still be overwritten.
    """
    data = text.encode("utf-8")
    folder = path.parent
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        if expected is not None:
            return False  # deleted meanwhile: not ours to bring back
        mode = 0o644
    except OSError as exc:
        raise NoteWriteError(uri, f"cannot write: {exc.strerror}") from exc
    tmp = folder / temp_name()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        if expected is None:
            os.replace(tmp, path)
        elif not _replace_if_unchanged(tmp, path, expected.encode("utf-8", "surrogatepass"), data):
            return False
    except OSError as exc:
        raise NoteWriteError(uri, f"cannot write: {exc.strerror}") from exc
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _fsync_dir(folder)
    return True


def _replace_if_unchanged(tmp: Path, path: Path, expected: bytes, data: bytes) -> bool:
    """Put ``tmp`` (holding ``data``) in place of ``path`` if ``path`` still holds ``expected``."""
    swapped = swap_files(tmp, path)
    if swapped is None:  # no atomic swap here: check, then replace
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            return False
        if current != expected:
            return False
        os.replace(tmp, path)
        return True
    if not swapped:
        return False  # the note is gone
    if tmp.read_bytes() == expected:
        return True  # tmp now holds the old text; the caller deletes it
    swap_files(tmp, path)  # a save came first: put it back
    if tmp.read_bytes() != data:
        os.replace(tmp, path)  # and a save reached our file meanwhile: that one is the newest
    return False


_EXCHANGE: object = None  # the system's atomic swap, looked up once (see swap_files)


def _exchange_call() -> object:
    global _EXCHANGE
    if _EXCHANGE is None:
        _EXCHANGE = False
        try:
            libc = ctypes.CDLL(None, use_errno=True)
        except OSError:
            return _EXCHANGE
        if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
            fn = libc.renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            _EXCHANGE = lambda a, b: fn(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE  # noqa: E731
        elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
            fn = libc.renamex_np
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            _EXCHANGE = lambda a, b: fn(a, b, 2)  # RENAME_SWAP  # noqa: E731
    return _EXCHANGE


def swap_files(a: Path, b: Path) -> bool | None:
    """Atomically exchange the files named ``a`` and ``b``: True when done, False when one of them
    does not exist, None when this system or file system has no atomic swap."""
    call = _exchange_call()
    if not callable(call):
        return None
    if call(os.fsencode(a), os.fsencode(b)) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.ENOENT:
        return False
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return None
    raise OSError(err, os.strerror(err), str(b))


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
    bundled = Path(__file__).resolve().parents[2] / "vault"
    if not bundled.is_dir():
        raise ConfigError("no vault given and the bundled sample vault is not installed", hint="pass VAULT")
    return bundled
