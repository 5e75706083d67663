"""What every command shares: the vault it works on, the note it names, the index, and output.

Output rules (the README's contract): results go to stdout, everything else to stderr; with
``--json`` stdout carries exactly one JSON object, errors included (stderr still has the
warnings); ``-q`` leaves only errors on stderr; warnings are summarised by kind (``--verbose`` lists every one). Heavy modules (rich's
progress, the daemon, the exporters) are imported by the commands that use them, so a query
starts fast.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vaultsync.errors import ConfigError
from vaultsync.fs.discover import choose_vault

if TYPE_CHECKING:
    from vaultsync.fs.vault import Vault
    from vaultsync.model import Diagnostic
    from vaultsync.store.index import Index
    from vaultsync.store.indexing import ScanReport


@dataclass(slots=True)
class Mode:
    """The run's output mode, set once from the global options."""

    json: bool = False
    quiet: bool = False
    verbose: bool = False


MODE = Mode()

VaultArg = Annotated[
    Path | None,
    typer.Argument(
        metavar="[VAULT]",
        help="The vault folder (default: the vault the current folder is in; outside any vault, the bundled sample).",
        show_default=False,
    ),
]
NoteArg = Annotated[
    str, typer.Argument(metavar="NOTE", help="A note: a path (from here or the vault), or a name as a link would give it.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object (errors too) instead of text.")]


def open_vault(named: Path | None, *, writes: bool = False) -> Vault:
    """The vault a command works on; writing into the bundled sample needs it named explicitly."""
    from vaultsync.fs.vault import Vault  # noqa: PLC0415

    found = choose_vault(named)
    if found.is_bundled_default:
        if writes:
            raise ConfigError(
                "not inside a vault, and this command writes notes: it will not write into the bundled sample",
                hint=f"run it inside your vault, or name the vault (the sample: {found.root})",
            )
        note(f"not inside a vault: using the bundled sample vault {found.root}")
    return Vault(found.root)


def fresh_index(vault: Vault, *, rebuild: bool = False, label: str = "indexing") -> tuple[Index, ScanReport]:
    """The vault's index brought up to date (a warm scan re-reads only changed files)."""
    from vaultsync.store.indexing import rebuild_index, update_index  # noqa: PLC0415

    with progress(label) as update:
        if rebuild:
            return rebuild_index(vault, progress=update)
        return update_index(vault, progress=update)


def query_index(vault: Vault) -> Index:
    """The index for a query: as the running daemon keeps it (live), else brought up to date."""
    from vaultsync.daemon.state import is_locked  # noqa: PLC0415
    from vaultsync.store.index import open_index  # noqa: PLC0415 - not indexing: a live index needs no scanner

    if is_locked(vault):
        index = open_index(vault)
        if index is not None:
            return index
    return fresh_index(vault)[0]


def find_note(index: Index, vault: Vault, name: str, *, readable: bool = True) -> str:
    """The uri of the note NOTE names; with ``readable``, an unreadable note is an error."""
    from vaultsync.errors import NoteReadError  # noqa: PLC0415
    from vaultsync.store.naming import find_note as find  # noqa: PLC0415
    from vaultsync.store.naming import note_error

    uri = find(index, vault.root, name)
    if readable and (problem := note_error(index, uri)):
        raise NoteReadError(uri, problem, hint="the note's links are not known until it can be read")
    return uri


# -- output ----------------------------------------------------------------------------------------


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def say(text: str = "") -> None:
    """A line of a command's text result on stdout."""
    sys.stdout.write(text + "\n")


def note(text: str) -> None:
    """A line for the person on stderr (not with -q)."""
    if not MODE.quiet:
        sys.stderr.write(text + "\n")


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def width() -> int:
    return shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else int(os.environ.get("COLUMNS", 0) or 10**6)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> None:
    """Aligned columns fitted to the terminal: the widest column is cut (with …) to make room."""
    cells = [list(map(str, headers)), *[list(map(str, r)) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    room = width() - 2 * (len(widths) - 1)
    while sum(widths) > room and max(widths) > 8:
        widest = widths.index(max(widths))
        widths[widest] = max(8, widths[widest] - (sum(widths) - room))
    for n, row in enumerate(cells):
        parts = []
        for i, cell in enumerate(row):
            text = cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            parts.append(text.rjust(widths[i]) if i in right else text.ljust(widths[i]))
        line = "  ".join(parts).rstrip()
        say(f"\x1b[1m{line}\x1b[0m" if n == 0 and sys.stdout.isatty() else line)


def warn(diagnostics: Sequence[Diagnostic], *, limit: int = 3) -> None:
    """Warnings on stderr, each naming its note once, summarised by kind past ``limit`` of a kind.

    Informational diagnostics (a link to a note not written yet) only with ``--verbose``.
    """
    from vaultsync.model import Severity  # noqa: PLC0415

    if MODE.quiet:
        return
    kinds: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        if d.severity is not Severity.INFO or MODE.verbose:
            kinds.setdefault(d.code, []).append(d)
    for code, items in kinds.items():
        shown = items if MODE.verbose else items[:limit]
        for d in shown:
            sys.stderr.write(f"{d.severity.value}: {d.uri}: {_without_uri(d.message, d.uri)}\n")
        if len(items) > len(shown):
            rest = len(items) - len(shown)
            sys.stderr.write(f"{items[0].severity.value}: ... and {plural(rest, 'more note')} with {code} (--verbose lists all)\n")


def _without_uri(message: str, uri: str) -> str:
    for prefix in (f"{uri!r}: ", f"{uri}: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


@contextmanager
def progress(label: str) -> Iterator[Callable[..., None] | None]:
    """A progress bar on stderr labelled with what runs, only on a terminal and not with -q/--json."""
    if MODE.quiet or MODE.json or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)  # fmt: skip
    task = bar.add_task(label, total=None)
    with bar:

        def update(done: int, total: int, what: str | None = None) -> None:
            bar.update(task, completed=done, total=total, description=what or label)

        yield update


def check_output(path: Path, *, mkdir: bool) -> Path:
    """An output file path whose folder exists (made only with ``--mkdir``)."""
    folder = path.parent
    if not folder.is_dir():
        if folder.exists():
            raise ConfigError(f"cannot write {str(path)!r}: {str(folder)!r} is not a folder")
        if not mkdir:
            raise ConfigError(f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist",
                              hint="create it, or pass --mkdir")  # fmt: skip
        folder.mkdir(parents=True)
    return path
