"""The VaultsyncError hierarchy, and nothing else."""

from __future__ import annotations


class VaultsyncError(Exception):
    """Root of every error vaultsync raises on purpose.

    ``hint`` carries a known fix, rendered on its own line by the CLI and the API.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ConfigError(VaultsyncError):
    """A setting or the vault location is unusable."""


class NoteReadError(VaultsyncError):
    """A note could not be read or decoded."""

    def __init__(self, uri: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{uri!r}: {reason}", hint=hint)
        self.uri = uri
        self.reason = reason


class NoteWriteError(VaultsyncError):
    """A note could not be written."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"{uri!r}: {reason}")
        self.uri = uri
        self.reason = reason


class OutsideVaultError(VaultsyncError):
    """A vault path whose real location (every symlink followed) is outside the vault, or that is
    no regular file: vaultsync neither reads nor writes it."""

    def __init__(self, uri: str, reason: str = "it leads outside the vault") -> None:
        super().__init__(f"{uri!r}: {reason}", hint="vaultsync only reads and writes files inside the vault")
        self.uri = uri
        self.reason = reason


class StoreError(VaultsyncError):
    """The SQLite index could not be opened or updated."""


class NoteNotFoundError(VaultsyncError):
    """A note named on the command line or in a request is not in the vault."""

    def __init__(self, name: str, *, suggestions: tuple[str, ...] = (), hint: str | None = None) -> None:
        if suggestions and hint is None:
            hint = "did you mean " + ", ".join(repr(s) for s in suggestions) + "?"
        super().__init__(f"no note matches {name!r}", hint=hint)
        self.name = name
        self.suggestions = suggestions


class AmbiguousNoteError(VaultsyncError):
    """A note name that several notes answer to: the caller must say which."""

    def __init__(self, name: str, candidates: tuple[str, ...]) -> None:
        shown = ", ".join(candidates[:8]) + (f" and {len(candidates) - 8} more" if len(candidates) > 8 else "")
        super().__init__(f"{name!r} names {len(candidates)} notes: {shown}", hint="name the note by its vault path")
        self.name = name
        self.candidates = candidates


def error_code(exc: BaseException) -> str:
    """A stable snake_case code for an error class: ``NoteNotFoundError`` -> ``note_not_found``."""
    name = type(exc).__name__.removesuffix("Error") or "error"
    return "".join(("_" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(name))


class GitError(VaultsyncError):
    """A git command failed; the message shows the command, its exit code and its output."""

    def __init__(
        self,
        message: str,
        *,
        cmd: tuple[str, ...] = (),
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
        hint: str | None = None,
    ) -> None:
        details = [message]
        if cmd:
            details.append(f"command: {' '.join(cmd)}")
            details.append(f"return code: {returncode}")
            for name, text in (("stdout", stdout), ("stderr", stderr)):
                body = "\n".join("    " + line for line in text.rstrip().splitlines()) or "    (empty)"
                details.append(f"{name}:\n{body}")
        super().__init__("\n".join(details), hint=hint)
        self.cmd = cmd
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class SyncConflictError(GitError):
    """A sync cannot go on without the user: ``uris`` names the notes involved."""

    def __init__(self, message: str, uris: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.uris = uris


class BaseError(ConfigError):
    """An Obsidian base (a ``.base`` file or a ``base`` block) that cannot be read or evaluated:
    invalid YAML, a bad expression, an unknown or unsupported function. ``line`` is 1-based in
    ``uri``, or None when it is not known."""

    def __init__(self, uri: str, line: int | None, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{uri}:{line}: {reason}" if line else f"{uri}: {reason}", hint=hint)
        self.uri = uri
        self.line = line
        self.reason = reason


class QueryError(ConfigError):
    """A search query that cannot be read (an unclosed quote, an operator without a value...)."""
