"""The normalizer: pure text -> text rewrites over the scanner's spans. No file I/O.

Rules are registered by name and each can be switched in ``.vaultsync.toml``. A rule sees one
occurrence (a timestamp, or a body wikilink/embed together with the text earlier rules made of it)
and returns its replacement, or None to keep it. Every edit replaces exactly the occurrence's span,
so nothing outside those spans changes: frontmatter, line endings, BOM, code and math are never
touched. Every rule maps its own output to itself, so normalizing twice equals normalizing once.

    >>> from vaultsync.text.normalize import NormalizeContext, normalize_text
    >>> ctx = NormalizeContext.for_vault(["a.md", "some_title.md"], "a.md")
    >>> normalize_text("---\\nvideoId: abcdefghijk\\n---\\n[[ Some Title ]] <a class=\\"yt-timestamp\\" "
    ...                "data-t=\\"00:01:23\\">[00:01:23]</a>", ctx).text.splitlines()[-1]
    '[[some_title|Some Title]] [01:23](https://www.youtube.com/watch?v=abcdefghijk&t=83s)'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vaultsync.config import NormalizeSettings
from vaultsync.model import Diagnostic, Link, LinkKind, ParsedNote, Severity, Timestamp, TimestampForm
from vaultsync.text.names import JS_WHITESPACE, basename, clean_string, dirname, forgiving_key
from vaultsync.text.parse import parse_note
from vaultsync.text.resolve import NameTable
from vaultsync.text.timestamps import clock, display_label, envelope, is_clock_label, needs_hours, video_url
from vaultsync.text.wikitext import Edit, apply_edits, build_wiki, linktext, parse_wiki, visible_text

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{6,20}")
_VIDEO_URL = re.compile(
    r"(?:https?://)?(?:(?:www|m|music)\.)?(?:youtube\.com/(?:watch\?(?:[^#\s]*&)?v=|shorts/|embed/|live/)"
    r"|youtu\.be/)([A-Za-z0-9_-]{6,})"
)


LinkOutcome = tuple[str, tuple[str, ...], tuple[tuple[str, str, Severity], ...], bool]
"""What the link rules made of one link text: (final text, the rules that changed it, its
diagnostics as (code, message, severity), whether it is unresolved)."""


@dataclass(frozen=True, slots=True)
class NormalizeContext:
    """What the rules may know beyond the note itself: the vault's names, and the settings."""

    uri: str
    table: NameTable
    forgiving: Mapping[str, list[str]]  # forgiving_key(stem) -> note uris
    settings: NormalizeSettings = field(default_factory=NormalizeSettings)
    link_format: str = "shortest"  # .obsidian/app.json newLinkFormat
    # source folder -> link text -> what the built-in link rules made of it where they did not
    # read where it stands (see _links); shared by the notes of one run (see for_note), while the
    # table and the settings stay as they are
    link_outcomes: dict[str, dict[str, LinkOutcome]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def for_vault(
        cls,
        uris: Iterable[str],
        uri: str,
        settings: NormalizeSettings | None = None,
        link_format: str = "shortest",
    ) -> NormalizeContext:
        uris = list(uris)
        return cls(uri, NameTable(uris), forgiving_index(uris), settings or NormalizeSettings(), link_format)

    def for_note(self, uri: str) -> NormalizeContext:
        """This context for another note of the same run (the same vault, names and settings)."""
        return NormalizeContext(uri, self.table, self.forgiving, self.settings, self.link_format, self.link_outcomes)


def forgiving_index(uris: Iterable[str]) -> dict[str, list[str]]:
    """forgiving_key of each note's file name (without ``.md``) -> the notes with that key."""
    index: dict[str, list[str]] = {}
    for uri in sorted(uris):
        if uri.lower().endswith(".md"):
            index.setdefault(forgiving_key(basename(uri)[:-3]), []).append(uri)
    return index


@dataclass(frozen=True, slots=True)
class Normalized:
    """The result of normalizing one note."""

    text: str
    edits: tuple[Edit, ...]
    diagnostics: tuple[Diagnostic, ...]
    counts: dict[str, int]

    @property
    def changed(self) -> bool:
        return bool(self.edits)


# -- the rule registry ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Note:
    """One note as the rules see it."""

    text: str
    parsed: ParsedNote
    ctx: NormalizeContext
    video_id: str | None
    hours: bool
    diagnostics: list[Diagnostic]
    wraps: dict[tuple[int, int], tuple[str | None, bool]]  # enveloped span -> (kept label, markdown ok)
    positional: bool = False  # a link rule read where the link stands (see _separator)
    html: bool = False  # timestamp-style is html (read once per note, not per timestamp)

    def report(self, code: str, message: str, span: tuple[int, int] | None, severity: Severity = Severity.WARNING) -> None:
        self.diagnostics.append(Diagnostic(self.ctx.uri, code, message, severity, span))


TimestampRule = Callable[[_Note, Timestamp, str], str | None]
LinkRule = Callable[[_Note, Link, str], str | None]
TIMESTAMP_RULES: dict[str, TimestampRule] = {}
LINK_RULES: dict[str, LinkRule] = {}
COUNTERS = {
    "timestamps": "timestamps_rewritten",
    "wikilink-spacing": "links_trimmed",
    "wikilink-repair": "links_repaired",
    "qualify-ambiguous": "links_qualified",
}


def timestamp_rule(name: str) -> Callable[[TimestampRule], TimestampRule]:
    def register(fn: TimestampRule) -> TimestampRule:
        TIMESTAMP_RULES[name] = fn
        return fn

    return register


def link_rule(name: str) -> Callable[[LinkRule], LinkRule]:
    """Register a rule over body wikilinks and embeds; rules run in registration order, each on
    the text the previous ones produced."""

    def register(fn: LinkRule) -> LinkRule:
        LINK_RULES[name] = fn
        return fn

    return register


def normalize_text(text: str, ctx: NormalizeContext) -> Normalized:
    """Apply every enabled rule to one note's text."""
    stamp_rules, link_rules = _enabled(TIMESTAMP_RULES, ctx.settings), _enabled(LINK_RULES, ctx.settings)
    parsed = parse_note(ctx.uri, text)
    stamps: Sequence[Timestamp] = parsed.scan.timestamps
    hours = needs_hours([t.seconds for t in stamps], ctx.settings.timestamp_hours == "always")
    note = _Note(text, parsed, ctx, note_video_id(parsed), hours, [], {}, html=ctx.settings.timestamp_style == "html")
    counts = dict.fromkeys([*COUNTERS.values(), "links_unresolved", "timestamps_unread"], 0)
    edits: list[Edit] = []
    links = [link.span for link in parsed.scan.links if link.kind in (LinkKind.WIKI, LinkKind.EMBED)]
    if stamps:
        _timestamps(note, stamps, links, stamp_rules, counts, edits)
    if links:
        _links(note, link_rules, counts, edits)
    edits.sort(key=lambda e: e.span[0])
    applied = _without_overlaps(edits)
    return Normalized(apply_edits(text, applied), tuple(applied), tuple(note.diagnostics), counts)


def _timestamps(
    note: _Note,
    stamps: Sequence[Timestamp],
    links: list[tuple[int, int]],
    rules: list[tuple[str, Any]],
    counts: dict[str, int],
    edits: list[Edit],
) -> None:
    """Run the timestamp rules over every timestamp outside a wikilink; a note holds dozens, so
    this loop is the normalizer's hot path (one rule, the usual case, is called directly)."""
    text = note.text
    single = rules[0] if len(rules) == 1 else None
    at, ends = 0, len(links)  # links and stamps are both in text order: one sweep
    for stamp in stamps:
        span = stamp.span
        # an anchor written inside a wikilink's display text ([[x|<a …>[00:12:00]</a>]]) is part
        # of that link's text, which the link rules own: it is left as it is
        while at < ends and links[at][1] <= span[0]:
            at += 1
        if at < ends and links[at][0] <= span[0] and span[1] <= links[at][1]:
            continue
        # a rewrite takes along what would otherwise turn into a broken link (see envelope)
        span, label, markdown_ok = envelope(text, span)
        if span != stamp.span or label is not None or not markdown_ok:
            stamp = stamp._replace(span=span)
            note.wraps[span] = (label, markdown_ok)
        if stamp.seconds is None and rules:
            counts["timestamps_unread"] += 1
        raw = text[span[0] : span[1]]
        if single is None:
            _run(rules, note, stamp, raw, counts, edits)
            continue
        new = single[1](note, stamp, raw)
        if new is not None and new != raw:
            counts[COUNTERS[single[0]]] += 1
            edits.append(Edit(span, new, (single[0],)))


def _links(note: _Note, rules: list[tuple[str, Any]], counts: dict[str, int], edits: list[Edit]) -> None:
    """Run the link rules over every body wikilink and embed.

    The built-in link rules depend on a link's text and its note's folder only, unless they
    read where it stands (see :func:`_separator`): such outcomes (the final text, the rules that
    changed it, the diagnostics, whether it resolves) are remembered for the folder's other
    notes of the run, and replayed at the link's own span."""
    ctx, text, folder = note.ctx, note.text, dirname(note.ctx.uri)
    known: dict[str, LinkOutcome] | None = None
    if all(rule is _BUILTIN_LINK_RULES.get(name) for name, rule in rules):
        known = ctx.link_outcomes.setdefault(folder, {})
    for link in note.parsed.scan.links:
        if link.kind is not LinkKind.WIKI and link.kind is not LinkKind.EMBED:
            continue
        raw = text[link.span[0] : link.span[1]]
        seen = None if known is None else known.get(raw)
        if seen is not None:
            final, applied, reports, unresolved = seen
            for code, message, severity in reports:
                note.report(code, message, link.span, severity)
            for name in applied:
                counts[COUNTERS[name]] += 1
            if final != raw:
                edits.append(Edit(link.span, final, applied))
            counts["links_unresolved"] += unresolved
            continue
        reported = len(note.diagnostics)
        note.positional = False
        final, applied = _run(rules, note, link, raw, counts, edits)
        target = clean_string(parse_wiki(final)[1])
        unresolved = bool(target) and ctx.table.resolve_memo(target, ctx.uri, folder)[0] is None
        counts["links_unresolved"] += unresolved
        if known is not None and not note.positional:
            reports = tuple((d.code, d.message, d.severity) for d in note.diagnostics[reported:])
            known[raw] = (final, applied, reports, unresolved)


def _without_overlaps(edits: list[Edit]) -> list[Edit]:
    """Edits sorted by start, less any that starts inside an earlier one (a timestamp's envelope
    reaching into a neighbour): that one waits for the next run, which sees the new text."""
    kept: list[Edit] = []
    for edit in edits:
        if not kept or edit.span[0] >= kept[-1].span[1]:
            kept.append(edit)
    return kept


def _enabled(rules: Mapping[str, Any], settings: NormalizeSettings) -> list[tuple[str, Any]]:
    return [(name, rule) for name, rule in rules.items() if settings.enabled(name)]


def _run(
    rules: list[tuple[str, Any]], note: _Note, item: Any, raw: str, counts: dict[str, int], edits: list[Edit]
) -> tuple[str, tuple[str, ...]]:
    """Apply the rules in turn; the final text, and the rules that changed the text they got."""
    current, applied = raw, []
    for name, rule in rules:
        new = rule(note, item, current)
        if new is not None and new != current:
            current = new
            applied.append(name)
            counts[COUNTERS[name]] += 1
    if current != raw:
        edits.append(Edit(item.span, current, tuple(applied)))
    return current, tuple(applied)


# -- timestamps -------------------------------------------------------------------------------------


def note_video_id(parsed: ParsedNote) -> str | None:
    """``videoId`` from the frontmatter, else the id in a YouTube ``url`` or ``source`` field.

    Only something shaped like a YouTube id counts (a template's ``{{videoId}}`` does not).
    """
    if parsed.video_id and _VIDEO_ID.fullmatch(parsed.video_id):
        return parsed.video_id
    data = parsed.frontmatter.data or {}
    for key in ("url", "source"):
        value = data.get(key)
        if isinstance(value, str) and (m := _VIDEO_URL.match(value.strip())):
            return m.group(1)
    return None


# a vault's labels are a few thousand clocks, written over and over
_display_label = functools.lru_cache(maxsize=1 << 16)(display_label)


@timestamp_rule("timestamps")
def canonical_timestamp(note: _Note, stamp: Timestamp, raw: str) -> str | None:
    """Every anchor form becomes the configured canonical form, linking to its second."""
    if stamp.form is TimestampForm.MARKDOWN and not is_clock_label(stamp.label):
        return None  # [see this](youtube...&t=) is prose that links to a time, not an anchor
    if stamp.seconds is None:
        note.report("timestamp-no-time", f"timestamp {raw!r} holds no time; left as it is", stamp.span)
        return None
    video_id = stamp.video_id or note.video_id
    if video_id is None:
        if not any(d.code == "timestamp-no-video" for d in note.diagnostics):
            broken = note.parsed.frontmatter.error
            why = f"the frontmatter cannot be read ({broken}), so its videoId is unknown" if broken else "no videoId (or YouTube url/source) in the frontmatter"
            note.report("timestamp-no-video", f"{why}; timestamps left as they are", stamp.span)
        return None
    url = video_url(video_id, stamp.seconds)
    kept, markdown_ok = note.wraps.get(stamp.span, (None, True))
    label = _display_label(stamp.label, stamp.seconds, note.hours, kept=kept)
    # right after "!" or "[", a markdown link would become an embed or a wikilink: keep the
    # (clickable) HTML form there
    if note.html or not markdown_ok:
        return f'<a class="yt-timestamp" data-t="{clock(stamp.seconds, True)}" href="{url}">[{label}]</a>'
    return f"[{label}]({url})"


# -- wikilinks --------------------------------------------------------------------------------------


def _subpath_trimmed(subpath: str) -> str:
    if not subpath:  # most links
        return subpath
    return "#".join(part.strip(JS_WHITESPACE) for part in subpath.split("#"))


@link_rule("wikilink-spacing")
def trim_spacing(note: _Note, link: Link, raw: str) -> str | None:
    """``[[ a # h | b ]]`` -> ``[[a#h|b]]``."""
    prefix, path, subpath, display, sep = parse_wiki(raw)
    return build_wiki(prefix, path, _subpath_trimmed(subpath), display, sep)


@link_rule("wikilink-repair")
def repair_link(note: _Note, link: Link, raw: str) -> str | None:
    """Point an unresolved link at the one note whose name matches it by the forgiving key,
    keeping what the reader sees (the old text becomes the display text)."""
    prefix, path, subpath, display, sep = parse_wiki(raw)
    ctx = note.ctx
    # Obsidian drops one trailing backslash from a target ([[a\]] links to a)
    if not path or ctx.table.resolve_memo(clean_string(path.removesuffix("\\")), ctx.uri)[0] is not None:
        return None
    if link.span[0] and note.text[link.span[0] - 1] == "[":
        note.positional = True  # read outside the link: not an outcome to replay elsewhere
        # a "[" before it would join the repaired link ([[[[a]] -> [[[a]] -> [[a]]): left as it is
        note.report("link-unresolved", f"link [[{path}{subpath}]] follows a '['; left as it is", link.span, Severity.INFO)
        return None
    name = basename(path)
    if "." in name and not name.lower().endswith(".md"):
        return None  # an attachment: forgiving keys are for note names
    stem = name[:-3] if name.lower().endswith(".md") else name
    folder = dirname(path).lower()
    matches = [u for u in ctx.forgiving.get(forgiving_key(stem), []) if dirname(u).lower().endswith(folder)]
    if len(matches) != 1:
        if matches:
            note.report("link-ambiguous", f"link [[{path}{subpath}]] matches {len(matches)} notes; left as it is", link.span)
        else:
            note.report("link-unresolved", f"link [[{path}{subpath}]] matches no note", link.span, Severity.INFO)
        return None
    new_path = linktext(matches[0], ctx.uri, ctx.table, ctx.link_format)
    if display is None and prefix == "[[":
        display = visible_text(path, subpath)
        sep = _separator(note, link.span[0])
    return build_wiki(prefix, new_path, subpath, display, sep)


def _separator(note: _Note, pos: int) -> str:
    """``\\|`` inside a table row (a bare ``|`` would start a new cell), else ``|``: the one
    place a link rule reads where the link stands (so its outcome is not remembered)."""
    note.positional = True
    text = note.text
    line_start = text.rfind("\n", 0, pos) + 1
    return "\\|" if text[line_start:pos].lstrip().startswith("|") else "|"


@link_rule("qualify-ambiguous")
def qualify_ambiguous(note: _Note, link: Link, raw: str) -> str | None:
    """Write the full path of a link whose name several files share, where it resolves today."""
    prefix, path, subpath, display, sep = parse_wiki(raw)
    if not path or "/" in path:
        return None
    res = note.ctx.table.resolve(clean_string(path), note.ctx.uri)
    if res.dest is None or not res.ambiguous:
        return None
    full = res.dest[:-3] if res.dest.lower().endswith(".md") else res.dest
    if display is None and prefix == "[[":
        display = visible_text(path, subpath)
        sep = _separator(note, link.span[0])
    return build_wiki(prefix, full, subpath, display, sep)


_BUILTIN_LINK_RULES = dict(LINK_RULES)  # the rules above; link_outcomes is kept only while they are the ones
