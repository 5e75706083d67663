"""Atomic writes of vault files, and the temp files they go through (I/O).

A note is replaced, never truncated in place: :func:`write_note_atomic` writes the new text to a
temp file in the note's folder (``.<pid><random>.vaultsync-tmp``: hidden, so no walk or watcher
takes it for a note), fsyncs it, and puts it in place with an atomic swap or rename. A temp file
left by a writer that died is deleted by :func:`remove_stale_temp_files` (the vault's walk
collects their names). This is where vaultsync replaces a note's text (apart from git's own checkouts,
and :mod:`vaultsync.sync.recover` putting files back after a broken rebase); callers go through
:meth:`vaultsync.fs.vault.Vault.write_text_atomic`, which checks the path first.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from vaultsync.errors import NoteWriteError

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".vaultsync-tmp"


_TEMP_NAME_BYTES = 27  # "." + 8 hex digits of the pid + 4 random hex digits + TEMP_SUFFIX


def temp_name() -> str:
    """A temp file's name: short and of fixed length (27 bytes), whatever the note's name, so a
    note whose name is near the 255-byte limit can still be written. It starts with the writer's
    pid (8 hex digits), so a later run can tell a dead writer's leftovers from a live write."""
    return f".{os.getpid() & 0xFFFFFFFF:08x}{os.urandom(2).hex()}{TEMP_SUFFIX}"


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
        import ctypes  # noqa: PLC0415 - here: a command that writes no note need not load it

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
    import ctypes  # noqa: PLC0415 - loaded already by _exchange_call

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




def remove_stale_temp_files(paths: Iterable[str], max_age_s: float = 3600.0) -> int:
    """Delete the temp files of interrupted writes among ``paths`` (ours only: ``.*.vaultsync-tmp``):
    those whose writer (named in the file's name) is dead, and any older than ``max_age_s`` (a live
    write takes milliseconds; an old name may carry a reused pid). Returns how many went."""
    removed = 0
    now = time.time()
    for path in paths:
        try:
            alive = _writer_alive(os.path.basename(path))
            if alive is False or now - os.lstat(path).st_mtime >= max_age_s:
                os.unlink(path)
                removed += 1
                log.info("removed a temp file left by an interrupted write: %s", path)
        except OSError:
            pass
    return removed
