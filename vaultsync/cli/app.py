"""The ``vaultsync`` command line: the typer app, global options and the contract with scripts.

The contract (README, "For scripts"): exit 0 ok; 1 a failed operation (an unknown or ambiguous
note, an unreadable note asked for by name, a note that would change under ``--check``, a failed
sync or export); 2 bad usage (arguments, values out of range, an unusable vault or output path);
3 a crash (a crash log is written); 130 interrupted. With ``--json`` every outcome, errors
included, is exactly one JSON object on stdout: the result, or ``{"error", "message", "hint"}`` as
the HTTP API gives it. Commands live in the modules named in ``COMMANDS``; each imports what it
needs when it runs, so ``--help`` and a query start fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from vaultsync import __version__
from vaultsync.cli.common import MODE, emit_json
from vaultsync.errors import ConfigError, OutsideVaultError, VaultsyncError, error_code

COMMANDS = ("maintain", "queries", "exporting", "running", "mcp", "base", "search")

app = typer.Typer(
    name="vaultsync",
    help="Keep an Obsidian vault of video notes consistent, indexed and exportable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"vaultsync {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more; list every warning.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only (on stderr).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    MODE.verbose, MODE.quiet = verbose, quiet and not verbose
    level = logging.DEBUG if verbose else logging.ERROR if MODE.quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr, force=True)


for _name in COMMANDS:
    importlib.import_module(f"vaultsync.cli.{_name}").register(app)


# -- entry point -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI with one error handler at the edge (the contract in the module docstring)."""
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw
    args = [a for a in raw if a != "--debug"]
    MODE.json = "--json" in args
    try:
        code = app(args=args, standalone_mode=False)  # returns typer.Exit's code instead of raising
    except (ConfigError, OutsideVaultError) as exc:
        raise SystemExit(_report(exc, 2)) from None
    except VaultsyncError as exc:
        raise SystemExit(_report(exc, 1)) from None
    except KeyboardInterrupt:
        raise SystemExit(_report_plain("interrupted", "interrupted", None, 130)) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except (typer.Abort, EOFError):
        raise SystemExit(_report_plain("aborted", "aborted", None, 1)) from None
    except Exception as exc:  # noqa: BLE001 - the one place that turns crashes into a report
        exit_code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(exit_code, int):  # a usage error (click's own)
            if MODE.json:
                message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
                raise SystemExit(_report_plain("usage", message, "see --help", 2)) from None
            exc.show()
            raise SystemExit(2 if exit_code not in (0, 1) else exit_code) from None
        if debug:
            raise
        log = _crash_log(exc)
        raise SystemExit(_report_plain("crash", f"vaultsync crashed: {type(exc).__name__}: {exc}", f"details: {log}", 3)) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _report(exc: VaultsyncError, status: int) -> int:
    return _report_plain(error_code(exc), str(exc), exc.hint, status)


def _report_plain(code: str, message: str, hint: str | None, status: int) -> int:
    if MODE.json:
        emit_json({"error": code, "message": message, "hint": hint})
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    return status


def _crash_log(exc: BaseException) -> Path:
    import platform  # noqa: PLC0415 - only a crash needs these
    import tempfile  # noqa: PLC0415
    import time  # noqa: PLC0415
    import traceback  # noqa: PLC0415

    path = Path(tempfile.gettempdir()) / f"vaultsync-crash-{int(time.time())}.log"
    versions = f"vaultsync {__version__}, Python {platform.python_version()}, {platform.platform()}"
    path.write_text(versions + "\n\n" + "".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


