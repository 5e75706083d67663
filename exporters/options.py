"""Exporter options (``ExportRequest.options``): user input from the CLI or the API, read as text,
integers and yes/no, each checked with one clear line (a ConfigError naming the option)."""

from __future__ import annotations

from vaultsync import ConfigError


def option_text(options: dict[str, str], key: str, default: str) -> str:
    """An option as text (the API may send numbers or booleans); ``default`` when it is absent."""
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def option_int(options: dict[str, str], key: str, default: int | None, low: int, high: int | None = None) -> int | None:
    """An integer option in ``low``..``high``; a ConfigError naming the option otherwise."""
    if options.get(key) is None:
        return default
    text = option_text(options, key, "")
    span = f"{low}-{high}" if high is not None else f"{low} or more"
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise ConfigError(f"invalid {key} {text!r}: expected an integer {span}")
    return value


def option_yes_no(options: dict[str, str], key: str, default: bool) -> bool:
    """A yes/no option (also true/false, 1/0, on/off); a ConfigError otherwise."""
    text = option_text(options, key, "yes" if default else "no").lower()
    if text in ("yes", "true", "1", "on"):
        return True
    if text in ("no", "false", "0", "off"):
        return False
    raise ConfigError(f"invalid {key} {text!r}: expected yes or no")
