"""The commands that keep running or talk to other machines: watch, serve, sync, service."""

from __future__ import annotations

import logging
import signal
from dataclasses import replace
from typing import Annotated

import typer

from vaultsync.cli.common import JsonOpt, VaultArg, emit_json, fresh_index, note, open_vault, plural, progress, say
from vaultsync.errors import VaultsyncError

PortOpt = Annotated[
    int | None,
    typer.Option("--port", metavar="PORT", min=0, max=65535, help="Port on 127.0.0.1 (default: the api.port setting; 0: a free one)."),
]


def register(app: typer.Typer) -> None:
    for command in (watch, serve, sync):
        app.command()(command)
    service_app = typer.Typer(help="Run the daemon under the platform's service manager.", no_args_is_help=True)
    service_app.command("install")(service_install)
    app.add_typer(service_app, name="service")


def watch(
    vault: VaultArg = None,
    api: Annotated[bool, typer.Option("--api", help="Also serve the plugin API (as `serve` does).")] = False,
    port: PortOpt = None,
) -> None:
    """Watch the vault in the foreground: normalize saves, follow moves, keep the index live."""
    from vaultsync.config import load_settings  # noqa: PLC0415
    from vaultsync.daemon.loop import Daemon  # noqa: PLC0415
    from vaultsync.daemon.state import setup_logging  # noqa: PLC0415

    v = open_vault(vault, writes=True)
    settings = load_settings(v.root)
    if api or port is not None:
        settings = replace(settings, api=replace(settings.api, enabled_in_watch=True, port=settings.api.port if port is None else port))
    level = logging.getLogger("vaultsync").getEffectiveLevel()
    setup_logging(v, level if level < logging.INFO else logging.INFO)
    raise typer.Exit(Daemon(v, settings).run())


def serve(
    vault: VaultArg = None,
    port: PortOpt = None,
    refresh: Annotated[float, typer.Option("--refresh", metavar="SECONDS", min=0, help="Seconds between catch-up scans of edits (0: never).")] = 5.0,
) -> None:
    """Serve the local HTTP API for the Obsidian plugin on 127.0.0.1 (port and token: .vaultsync/api.json)."""
    from vaultsync.api.local_host import LocalHost  # noqa: PLC0415
    from vaultsync.api.server import ApiServer  # noqa: PLC0415
    from vaultsync.config import load_settings  # noqa: PLC0415
    from vaultsync.daemon.state import read_status  # noqa: PLC0415
    from vaultsync.store.indexing import Indexer  # noqa: PLC0415

    v = open_vault(vault, writes=True)
    settings = load_settings(v.root)
    index, report = fresh_index(v)
    server = ApiServer(LocalHost(v, settings, Indexer(v, index), read_status),
                       port=settings.api.port if port is None else port, refresh_s=refresh).start()  # fmt: skip
    note(f"serving {v.root} on {server.url} ({plural(report.counts.get('notes', 0), 'note')}); "
         f"token in {v.state_dir / 'api.json'}")  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: server.stopping.set())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        index.close()


def sync(
    vault: VaultArg = None,
    remote: Annotated[str | None, typer.Option("--remote", metavar="URL", help="Set the vault up to sync with this git URL first.")] = None,
    allow_deletions: Annotated[bool, typer.Option("--allow-deletions", help="Push even a mass deletion of notes.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sync the vault with its git remote once: commit, fetch, integrate (conflicts side by side), push."""
    from vaultsync.config import GitSettings, load_settings  # noqa: PLC0415
    from vaultsync.daemon.state import is_locked  # noqa: PLC0415
    from vaultsync.store.indexing import Indexer, open_index  # noqa: PLC0415
    from vaultsync.sync.cycle import setup_repository, sync_vault  # noqa: PLC0415

    if remote and vault is not None and not vault.exists():
        vault.mkdir(parents=True)  # a second machine: the replica's folder, asked for by name
    v = open_vault(vault, writes=True)
    config = load_settings(v.root)
    settings = config.git or GitSettings()
    if config.git is not None and is_locked(v):
        raise VaultsyncError("the daemon syncs this vault", hint="it syncs on its own; see `vaultsync status`")
    if remote:
        setup_repository(v.root, remote, settings)
    index = open_index(v)
    try:
        with progress("syncing") as update:
            report = sync_vault(v.root, settings, allow_deletions=allow_deletions,
                                indexer=Indexer(v, index) if index else None, progress=update)  # fmt: skip
    finally:
        if index is not None:
            index.close()
    if report.blocked:
        raise VaultsyncError(f"push refused: {report.blocked}",
                             hint="restore the notes, raise [git] max-delete-share, or run `vaultsync sync --allow-deletions`")  # fmt: skip
    if as_json:
        emit_json({"vault": str(v.root), **report.as_dict()})
        return
    committed = ", ".join(f"{n} {kind}" for kind, n in sorted(report.committed.items())) or "nothing"
    branch = f" ({report.branch})" if report.branch else ""
    say(f"{v.root}{branch}: committed {committed}; pulled {plural(len(report.changed), 'file')} ({report.integrated}); "
        f"{'pushed' if report.pushed else 'not pushed'}; {report.seconds:.2f} s")  # fmt: skip
    for copy in report.conflicts:
        say(f"conflict: the other side's version is in {copy}")


def service_install(vault: VaultArg = None) -> None:
    """Write a systemd user unit (Linux) or launchd agent (macOS) that runs `vaultsync watch`."""
    from vaultsync.daemon.service import install_service  # noqa: PLC0415

    v = open_vault(vault, writes=True)
    service = install_service(v.root)
    say(f"wrote {service.path}")
    say(f"start it with: {service.enable}")
