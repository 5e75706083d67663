"""Settings from ``<vault>/.vaultsync.toml``: frozen dataclasses, defaults, collect-all validation.

    [normalize]
    timestamp-style = "markdown"   # or "html": keep Quartz's <a class="yt-timestamp"> and add href
    timestamp-hours = "auto"       # "auto": HH:MM:SS only in notes that reach an hour; "always"

    [normalize.rules]              # every rule can be switched off (or on) by name
    timestamps = true
    wikilink-spacing = true
    wikilink-repair = true
    qualify-ambiguous = false

    [watch]                        # vaultsync watch
    quiet-ms = 100                 # debounce: quiet gap before a batch...
    max-wait-ms = 1000             # ...and the longest a busy burst is held
    rescan-s = 300                 # light rescan interval
    storm-threshold = 200          # larger batches are handled by one reconcile
    normalize = true

    [git]                          # vaultsync sync; the daemon syncs only when this section exists
    remote = "origin"              # the remote's name (`vaultsync sync --remote URL` sets it up)
    branch = ""                    # "": the branch checked out
    commit-debounce-s = 30         # commit once the vault has been quiet this long
    pull-interval-s = 300          # fetch, integrate and push at least this often
    push = true
    max-delete-share = 0.25        # refuse to push when more of the remote's notes are deleted

    [api]                          # vaultsync serve, and the same API inside vaultsync watch
    port = 0                       # 0: a free port; the port in use is written to .vaultsync/api.json
    enabled-in-watch = false       # also serve the API from `vaultsync watch` (or: watch --api)

    [mcp]                          # vaultsync mcp: the server for AI assistants
    allow-writes = false           # normalize writes, rename and export (or: mcp --allow-writes)
    output = ""                    # the folder exports go to (relative: to the vault); "": no exports
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from vaultsync.errors import ConfigError

log = logging.getLogger(__name__)

CONFIG_NAME = ".vaultsync.toml"
RULE_NAMES = ("timestamps", "wikilink-spacing", "wikilink-repair", "qualify-ambiguous")
DEFAULT_RULES = {"timestamps": True, "wikilink-spacing": True, "wikilink-repair": True, "qualify-ambiguous": False}
TIMESTAMP_STYLES = ("markdown", "html")
TIMESTAMP_HOURS = ("auto", "always")


@dataclass(frozen=True, slots=True)
class NormalizeSettings:
    """How ``vaultsync normalize`` (and the daemon) rewrite notes."""

    rules: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_RULES))
    """Rule name -> enabled."""
    timestamp_style: str = "markdown"
    """``markdown``: ``[01:23](https://www.youtube.com/watch?v=ID&t=83s)``; ``html``: the anchor with an href."""
    timestamp_hours: str = "auto"
    """``auto``: labels show hours only in notes with a timestamp past the first hour; ``always``."""

    def enabled(self, rule: str) -> bool:
        return self.rules.get(rule, False)

    def only(self, rules: list[str]) -> NormalizeSettings:
        """The same settings with exactly ``rules`` switched on (``--rule``)."""
        unknown = [r for r in rules if r not in RULE_NAMES]
        if unknown:
            raise ConfigError(f"unknown rule {unknown[0]!r}", hint="rules: " + ", ".join(RULE_NAMES))
        return replace(self, rules={name: name in rules for name in RULE_NAMES})


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """How ``vaultsync watch`` batches events."""

    quiet_ms: int = 100
    """A batch starts once the vault has been quiet this long..."""
    max_wait_ms: int = 1000
    """...or this long after its first change, whichever comes first."""
    rescan_s: int = 300
    """A light rescan (stat only) every this many seconds repairs whatever the watcher missed."""
    storm_threshold: int = 200
    """A batch with more changes than this (a git checkout) is handled by one reconcile."""
    normalize: bool = True
    """Normalize notes as they are saved (off: only keep the index)."""


@dataclass(frozen=True, slots=True)
class GitSettings:
    """How ``vaultsync sync`` and the daemon's sync loop replicate the vault through git."""

    remote: str = "origin"
    """The name of the git remote to sync with."""
    branch: str = ""
    """The branch to sync; empty means the branch checked out."""
    commit_debounce_s: float = 30.0
    """The daemon commits (and syncs) once the vault has been quiet this long after a change."""
    pull_interval_s: float = 300.0
    """The daemon fetches, integrates and pushes at least this often."""
    push: bool = True
    """Push after integrating (off: only pull)."""
    max_delete_share: float = 0.25
    """Refuse to push when more than this share of the remote's notes would be deleted."""


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The local HTTP API for the Obsidian plugin (``vaultsync serve``)."""

    port: int = 0
    """The loopback port to listen on; 0 picks a free one (written to ``.vaultsync/api.json``)."""
    enabled_in_watch: bool = False
    """Serve the API from ``vaultsync watch`` too (``vaultsync watch --api`` switches it on)."""


@dataclass(frozen=True, slots=True)
class McpSettings:
    """The Model Context Protocol server for AI assistants (``vaultsync mcp``)."""

    allow_writes: bool = False
    """Let the assistant write: normalize with ``write``, rename, export (``--allow-writes``)."""
    output: str = ""
    """The folder exports are written to, relative to the vault root or absolute; empty: no exports."""


@dataclass(frozen=True, slots=True)
class Settings:
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    git: GitSettings | None = None
    """None when ``.vaultsync.toml`` has no ``[git]`` section: the daemon does not sync."""
    api: ApiSettings = field(default_factory=ApiSettings)
    mcp: McpSettings = field(default_factory=McpSettings)


def load_settings(vault_root: Path) -> Settings:
    """Read ``.vaultsync.toml``; a missing file gives the defaults, a bad one a ConfigError listing
    every problem at once."""
    path = vault_root / CONFIG_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    problems: list[str] = []
    for key in raw:
        if key not in ("normalize", "watch", "git", "api", "mcp"):
            log.warning("%s: unknown section [%s] ignored", path, key)
    watch = _load_section("watch", WatchSettings, raw.get("watch", {}), problems, _not_negative)
    git = _load_section("git", GitSettings, raw["git"], problems, _check_git) if "git" in raw else None
    api = _load_section("api", ApiSettings, raw.get("api", {}), problems, _check_api)
    mcp = _load_section("mcp", McpSettings, raw.get("mcp", {}), problems, _check_mcp)
    section: Any = raw.get("normalize", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [normalize] must be a table")
    if not isinstance(section.get("rules", {}), dict):
        raise ConfigError(f"{path}: normalize.rules must be a table of rule = true/false")
    if not isinstance(raw.get("watch", {}), dict):
        raise ConfigError(f"{path}: [watch] must be a table")
    rules = dict(DEFAULT_RULES)
    for name, value in section.get("rules", {}).items():
        if name not in RULE_NAMES:
            problems.append(f"normalize.rules.{name}: unknown rule (known: {', '.join(RULE_NAMES)})")
        elif not isinstance(value, bool):
            problems.append(f"normalize.rules.{name}: must be true or false")
        else:
            rules[name] = value
    style = section.get("timestamp-style", "markdown")
    if style not in TIMESTAMP_STYLES:
        problems.append(f"normalize.timestamp-style: {style!r} is not one of {', '.join(TIMESTAMP_STYLES)}")
    hours = section.get("timestamp-hours", "auto")
    if hours not in TIMESTAMP_HOURS:
        problems.append(f"normalize.timestamp-hours: {hours!r} is not one of {', '.join(TIMESTAMP_HOURS)}")
    for key in section:
        if key not in ("rules", "timestamp-style", "timestamp-hours"):
            log.warning("%s: unknown key normalize.%s ignored", path, key)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return Settings(NormalizeSettings(rules=rules, timestamp_style=style, timestamp_hours=hours), watch, git, api, mcp)


S = TypeVar("S")


def _load_section(prefix: str, cls: Callable[..., S], section: Any, problems: list[str], check: Callable[[str, Any], str | None]) -> S:
    """Read a flat table into ``cls`` (a settings dataclass), collecting every problem.

    Keys are the field names with ``-`` for ``_``; a value must have its default's type (an int
    where a float is expected is taken); ``check(name, value)`` returns a problem or None.
    """
    if not isinstance(section, dict):
        problems.append(f"[{prefix}] must be a table")
        return cls()
    defaults = cls()
    values: dict[str, Any] = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        default = getattr(defaults, name, None)
        if default is None:
            problems.append(f"{prefix}.{key}: unknown key")
            continue
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(default, bool) != isinstance(value, bool) or not isinstance(value, type(default)):
            problems.append(f"{prefix}.{key}: must be {type(default).__name__}")
        elif (problem := check(name, value)) is not None:
            problems.append(f"{prefix}.{key}: {problem}")
        else:
            values[name] = value
    return cls(**values)


def _not_negative(name: str, value: Any) -> str | None:
    return "must not be negative" if isinstance(value, int | float) and not isinstance(value, bool) and value < 0 else None


def _check_git(name: str, value: Any) -> str | None:
    if name == "max_delete_share" and value > 1:
        return "must be a share between 0 and 1"
    if name == "remote" and not value:
        return "must name a remote"
    return _not_negative(name, value)


def _check_api(name: str, value: Any) -> str | None:
    if name == "port" and not 0 <= value <= 65535:
        return "must be a port number (0-65535; 0 picks a free one)"
    return None


def _check_mcp(name: str, value: Any) -> str | None:
    if name == "output" and ("\x00" in value or (value and not value.strip())):
        return "must name a folder (or be empty: no exports)"
    return None
