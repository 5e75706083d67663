"""``vaultsync mcp``: serve the vault to an AI assistant over the Model Context Protocol (stdio).

Stdout belongs to the protocol: this command prints nothing there, and logs go to stderr.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from vaultsync.cli.common import VaultArg, open_vault


def register(app: typer.Typer) -> None:
    """Add ``vaultsync mcp`` to ``app``."""

    @app.command()
    def mcp(
        vault: VaultArg = None,
        allow_writes: Annotated[bool, typer.Option("--allow-writes", help="Let the assistant normalize, rename and export (default: read-only).")] = False,
        output: Annotated[Path | None, typer.Option("--output", metavar="DIR", help="The folder exports go to, relative to the current folder (default: the [mcp] output setting, relative to the vault; none: no exports).")] = None,
        refresh: Annotated[float, typer.Option("--refresh", metavar="SECONDS", min=0, help="Without a daemon, a read more than this many seconds after the last scan starts one in the background (0: scan only at start).")] = 5.0,
    ) -> None:
        """Serve the vault to an AI assistant over MCP on stdio (read-only unless --allow-writes)."""
        from vaultsync.config import load_settings
        from vaultsync.mcp.host import McpHost
        from vaultsync.mcp.server import build_server
        from vaultsync.mcp.tools import VaultTools, output_folder

        v = open_vault(vault, writes=allow_writes)
        settings = load_settings(v.root)
        settings = replace(settings, mcp=replace(settings.mcp, allow_writes=allow_writes or settings.mcp.allow_writes,
                                                 output=str(output.expanduser().absolute()) if output is not None else settings.mcp.output))  # fmt: skip
        with contextlib.redirect_stdout(sys.stderr):  # until the SDK claims stdout for the protocol
            host = McpHost(v, settings, refresh_s=refresh).start()
            tools = VaultTools(host, allow_writes=settings.mcp.allow_writes, output=output_folder(v, settings.mcp.output))
        try:
            build_server(tools).run("stdio")
        finally:
            tools.close()
