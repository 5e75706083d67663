"""Note parsing: text -> ParsedNote (frontmatter split, frontmatter links, scan). Pure.

The frontmatter block is located exactly as Obsidian's ``getFrontMatterInfo`` does (``---`` at offset
0, closed by the next line that is ``---``), with one difference: a UTF-8 BOM before it is tolerated,
because Obsidian reads files through ``TextDecoder``, which drops the BOM before parsing.
The original text is never re-serialised: callers keep ``text[fm.start:fm.end]`` byte for byte.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import yaml  # type: ignore[import-untyped]

from vaultsync.model import Diagnostic, Frontmatter, Link, LinkKind, ParsedNote, Scan
from vaultsync.text.names import clean_string, split_subpath
from vaultsync.text.scan import parse_wikilink_inner, scan_body

try:  # the C parser is ~10x faster; fall back where libyaml is missing
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader

_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


class YamlLoader(_BaseLoader):  # type: ignore[misc]
    """PyYAML speaks YAML 1.1; Obsidian reads frontmatter as YAML 1.2. This loader uses the 1.2 core
    schema's booleans and numbers: ``yes``/``no``/``on``/``off`` stay strings, ``0123`` is 123,
    ``1:20`` is a string (not 80 seconds)."""


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
YamlLoader.add_implicit_resolver(_INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
YamlLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _construct_int(loader: Any, node: Any) -> int:
    value = str(loader.construct_scalar(node))
    if value.startswith("0o"):
        return int(value[2:], 8)
    if value.startswith("0x"):
        return int(value[2:], 16)
    return int(value, 10)


YamlLoader.add_constructor(_INT, _construct_int)


def load_yaml(text: str) -> Any:
    """Parse YAML the way Obsidian reads frontmatter (1.2 core schema). Raises yaml.YAMLError."""
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 - a safe loader


_OPEN = re.compile(r"\A\ufeff?---\r?\n")
_CLOSE = re.compile(r"^---(?:\r?\n|\Z)", re.M)

# Fast path for the overwhelmingly common frontmatter of plain `key: text` lines. A value is taken
# as a string only when the YAML loader would also read it as one; anything else goes to the loader.
# Greedy, so it is linear: the value's trailing spaces are cut after the match, and a value that
# then ends in ':' is no plain string (the YAML loader decides).
_SIMPLE_LINE = re.compile(
    r"([A-Za-z_][A-Za-z0-9_-]*):[ ]+"
    r"([^\s\-?:,\[\]{}#&*!|>'\"%@`+.~<=\\\x00-\x1f\x7f]"
    r"(?:[^\n\r:#\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+|:(?! |$)|(?<! )#)*)\r?"
)
_YAML_WORDS = frozenset("true True TRUE false False FALSE null Null NULL".split())
# How the loader reads a plain scalar that starts with a digit: the first of these that matches.
_DIGIT_RESOLVERS = {d: YamlLoader.yaml_implicit_resolvers.get(d, []) for d in "0123456789"}


def split_frontmatter(text: str) -> Frontmatter:
    """Locate and parse the frontmatter block of ``text``.

    Invalid YAML gives ``data=None`` and an ``error``; the block still counts as frontmatter (its
    text is not body), as in Obsidian, where such a note shows a properties error.
    """
    block = _frontmatter_block(text)
    if block is None:
        return Frontmatter()
    inner_start, inner_end, end = block
    data, error = _load_mapping(text[inner_start:inner_end])
    return Frontmatter(start=1 if text.startswith("\ufeff") else 0, end=end, data=data, error=error)


def body_start(text: str) -> int:
    """Where the body starts: after the frontmatter block, without parsing it (0 when there is none)."""
    block = _frontmatter_block(text)
    return 0 if block is None else block[2]


def _frontmatter_block(text: str) -> tuple[int, int, int] | None:
    """(inner start, inner end, block end) of the frontmatter block, or None."""
    opened = _OPEN.match(text)
    if opened is None:
        return None
    closed = _CLOSE.search(text, opened.end())
    return None if closed is None else (opened.end(), closed.start(), closed.end())


def _load_mapping(inner: str) -> tuple[dict[str, Any] | None, str | None]:
    fast = _load_simple(inner)
    if fast is not None:
        return fast, None
    try:
        data = load_yaml(inner)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, f"invalid YAML frontmatter{where}: {problem}"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return None, f"frontmatter is a {type(data).__name__}, not a mapping"
    return {_js_key(k): v for k, v in data.items()}, None


def _js_key(key: Any) -> str:
    """A mapping key as JavaScript's ``String(key)`` spells it: ``true``, ``null``, ``1.5``."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _load_simple(inner: str) -> dict[str, Any] | None:
    data: dict[str, Any] = {}
    for line in inner.split("\n"):
        if not line or line == "\r":
            continue
        m = _SIMPLE_LINE.fullmatch(line)
        if m is None:
            return None
        value = m.group(2).rstrip(" ")
        if value.endswith(":") or value in _YAML_WORDS or m.group(1) in _YAML_WORDS:
            return None
        if "0" <= value[0] <= "9" and not _digit_plain(value):
            return None
        data[m.group(1)] = value
    return data


def _digit_plain(value: str) -> bool:
    """Whether the YAML loader reads a plain scalar that starts with a digit as text (a video id
    like 3kMgfWWinnd) rather than as a number or a date."""
    return not any(rx.match(value) for _, rx in _DIGIT_RESOLVERS[value[0]])


def frontmatter_links(text: str, fm: Frontmatter) -> list[Link]:
    """String values anywhere in the mapping that start with ``[[`` and end with ``]]``.

    Obsidian counts these like body links. The span points at the link text inside the block
    when it can be found there, else it is the block's span.
    """
    if not fm.data:
        return []
    raw = text[fm.start : fm.end]
    links: list[Link] = []
    search_from = 0
    for value in _strings(fm.data):
        if not (value.startswith("[[") and value.endswith("]]")) or len(value) <= 4:
            continue
        parsed = parse_wikilink_inner(value[2:-2])
        if parsed is None:
            continue
        target, subpath, display = parsed
        at = raw.find(value, search_from)
        if at >= 0:
            span = (fm.start + at, fm.start + at + len(value))
            search_from = at + len(value)
        else:
            span = (fm.start, fm.end)
        links.append(Link(LinkKind.FRONTMATTER, span, target, subpath, display))
    return links


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _scalar(data: dict[str, Any] | None, key: str, text: str, fm: Frontmatter) -> str | None:
    """A frontmatter value as text; a non-string scalar (``videoId: 12345678901``) is taken
    verbatim from the block, so YAML's number reading cannot change an id."""
    if not data or data.get(key) is None:
        return None
    value = data[key]
    if isinstance(value, str):
        return clean_string(value) if key == "title" else value.strip()
    if isinstance(value, (dict, list)):
        return None
    m = re.search(rf"^{re.escape(key)}:[ \t]*(.*?)(?:[ \t]+#.*?)?[ \t]*\r?$", text[fm.start : fm.end], re.M)
    return m.group(1).strip("'\"") if m else str(value)


def parse_note(uri: str, text: str) -> ParsedNote:
    """Parse a whole note: frontmatter, then the body scan, then frontmatter links."""
    fm = split_frontmatter(text)
    head = note_head(uri, text, fm)
    return _parsed_note(uri, fm, head, scan_body(text, fm.end))


def _parsed_note(uri: str, fm: Frontmatter, head: NoteHead, body_scan: Scan) -> ParsedNote:
    if head.links:
        body_scan = Scan(
            links=tuple(head.links) + body_scan.links,
            timestamps=body_scan.timestamps,
            tags=body_scan.tags,
            headings=body_scan.headings,
            blocks=body_scan.blocks,
            skipped=body_scan.skipped,
        )
    return ParsedNote(
        uri=uri,
        frontmatter=fm,
        scan=body_scan,
        title=head.title,
        video_id=head.video_id,
        diagnostics=head.diagnostics,
    )


class NoteHead(NamedTuple):
    """What a note's frontmatter gives: its links, title, video id and any complaint."""

    links: list[Link]
    title: str | None
    video_id: str | None
    diagnostics: tuple[Diagnostic, ...]


def note_head(uri: str, text: str, fm: Frontmatter) -> NoteHead:
    """The frontmatter part of :func:`parse_note`, for callers that scan the body themselves."""
    diagnostics = (Diagnostic(uri, "frontmatter-invalid", fm.error, span=(fm.start, fm.end)),) if fm.error else ()
    return NoteHead(
        frontmatter_links(text, fm),
        _scalar(fm.data, "title", text, fm),
        _scalar(fm.data, "videoId", text, fm),
        diagnostics,
    )


def frontmatter_tags(data: dict[str, Any] | None) -> list[str]:
    """``tags`` as Obsidian reads it: a string is one tag (no comma split), a list its string
    items; items trimmed, a leading ``#`` dropped, empty and space-containing items dropped."""
    tags = []
    for item in _property_values(data, "tags"):  # the deprecated `tag` is no longer read (Obsidian 1.9)
        if not isinstance(item, str):
            continue
        item = item.strip().removeprefix("#")
        if item and " " not in item:
            tags.append(item)
    return tags


def frontmatter_aliases(data: dict[str, Any] | None) -> list[str]:
    values = _property_values(data, "aliases")  # the deprecated `alias` is no longer read (Obsidian 1.9)
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _property_values(data: dict[str, Any] | None, name: str) -> list[Any]:
    """A list property's items under a key matched case-insensitively; a lone value is one item."""
    values: list[Any] = []
    for key, value in (data or {}).items():
        if key.lower() == name:
            values.extend(value if isinstance(value, list) else [value])
    return values


__all__ = [
    "body_start",
    "frontmatter_aliases",
    "frontmatter_links",
    "frontmatter_tags",
    "parse_note",
    "split_frontmatter",
    "split_subpath",
]
