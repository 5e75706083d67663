"""Service definitions that run ``vaultsync watch`` in the background: a systemd user unit on
Linux, a launchd agent on macOS. Writes one file; the user enables it with the printed command."""

from __future__ import annotations

import hashlib
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from vaultsync.errors import ConfigError

SYSTEMD_UNIT = """[Unit]
Description=vaultsync: keep the Obsidian vault {vault} consistent
After=default.target

[Service]
Type=simple
ExecStart={command}
Restart=on-failure
RestartSec=5
# SIGTERM lets the daemon finish the batch in hand and exit 0
KillSignal=SIGTERM
TimeoutStopSec=30

[Install]
WantedBy=default.target
"""

LAUNCHD_PLIST = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>{label}</string>
  <key>ProgramArguments</key>
  <array>
{arguments}
  </array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
  <key>StandardErrorPath</key><string>{log}</string>
</dict>
</plist>
"""


@dataclass(frozen=True, slots=True)
class ServiceFile:
    path: Path
    text: str
    enable: str  # the command that starts it


def service_file(vault: Path, system: str | None = None, home: Path | None = None) -> ServiceFile:
    """The service definition for this platform (``Linux`` or ``Darwin``)."""
    system = system or platform.system()
    home = home or Path.home()
    vault = vault.resolve()
    tag = hashlib.sha1(str(vault).encode()).hexdigest()[:8]
    argv = [sys.executable, "-m", "vaultsync", "watch", str(vault)]
    if system == "Linux":
        name = f"vaultsync-{tag}.service"
        text = SYSTEMD_UNIT.format(vault=vault, command=shlex.join(argv))
        return ServiceFile(home / ".config/systemd/user" / name, text, f"systemctl --user enable --now {name}")
    if system == "Darwin":
        label = f"md.vaultsync.{tag}"
        arguments = "\n".join(f"    <string>{escape(a)}</string>" for a in argv)
        text = LAUNCHD_PLIST.format(label=label, arguments=arguments, log=escape(str(vault / ".vaultsync/launchd.log")))
        path = home / "Library/LaunchAgents" / f"{label}.plist"
        return ServiceFile(path, text, f"launchctl load -w {shlex.quote(str(path))}")
    raise ConfigError(f"no service manager support for {system}", hint="run `vaultsync watch` from your own supervisor")


def install_service(vault: Path, system: str | None = None, home: Path | None = None) -> ServiceFile:
    service = service_file(vault, system, home)
    service.path.parent.mkdir(parents=True, exist_ok=True)
    service.path.write_text(service.text, encoding="utf-8")
    return service
