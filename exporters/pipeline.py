"""The shared export pipeline: selected notes -> one pandoc-ready document (commonmark_x).

Obsidian syntax is converted before pandoc sees it, so pandoc's fast CommonMark reader can be used:
wikilinks to exported notes become internal cross-references (``#anchor``), links to other notes
plain text, embeds are transcluded (depth limit, cycle detection; ``#heading`` takes that section,
``#^id`` that block; images are copied beside the document), callouts become fenced divs,
``==highlights==`` marked spans, ``%%comments%%`` disappear, every timestamp becomes a link to its
second of the video, each note starts with its source and ends with "Linked from" (backlinks within
the export). Only anchors that exist are ever linked to, so no writer meets a missing label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from exporters import bases_embed
from vaultsync import (
    ConfigError,
    Diagnostic,
    Edit,
    Link,
    LinkKind,
    NameTable,
    ParsedNote,
    TimestampForm,
    Vault,
    apply_edits,
    display_label,
    envelope,
    needs_hours,
    note_video_id,
    parse_note,
    stem,
    video_url,
    visible_text,
)

MAX_EMBED_DEPTH = 5  # as Obsidian, which falls back to a plain box deeper than that
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
_SLUG = re.compile(r"[^a-z0-9]+")
_STRIP_HEADING = re.compile(r"[!\"#$%&()*+,.:;<=>?@^`{|}~/\[\]\\\r\n]")
# Obsidian syntax the exporters all meet (the Anki cards too)
COMMENT = re.compile(r"%%[\s\S]*?(?:%%|\Z)")
HIGHLIGHT = re.compile(r"==(?=[^\s=])([^\n]*?[^\s=])==")
_TAG_HTML = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_CALLOUT = re.compile(r"^>\s*\[!([A-Za-z0-9_-]+)\]([+-]?)[ \t]*(.*)$")
_MARKER = re.compile(r"[ ]{0,3}#{1,6}")


def comment_spans(text: str, parsed: ParsedNote) -> list[tuple[int, int]]:
    """``%%comments%%`` outside code: hidden in Obsidian's reading view and left out of exports."""
    code = [r.span for r in parsed.scan.skipped]
    return [m.span() for m in COMMENT.finditer(text, parsed.frontmatter.end) if not inside(m.start(), code)]


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def strip_heading(text: str) -> str:
    """Obsidian's ``stripHeading``: punctuation to spaces, whitespace collapsed, lower-cased."""
    return " ".join(_STRIP_HEADING.sub(" ", text).split()).lower()


@dataclass(slots=True)
class NoteInfo:
    uri: str
    title: str
    anchor: str
    parsed: ParsedNote
    text: str
    headings: dict[str, str] = field(default_factory=dict)  # strip_heading(text) -> anchor
    blocks: dict[str, str] = field(default_factory=dict)  # block id (lower) -> anchor
    emitted: set[str] = field(default_factory=set)  # heading anchors already placed


@dataclass(slots=True)
class Asset:
    """An image the document shows: read once, through the vault (inside it, a regular file), so
    the bytes written beside the document are the bytes that were checked."""

    uri: str  # the image in the vault
    data: bytes
    notes: list[str] = field(default_factory=list)  # the notes (or embedded notes) that show it


@dataclass(slots=True)
class Document:
    """What the writers get: pandoc input text, files it refers to, and metadata."""

    markdown: str
    chunks: list[str]  # the same text cut at note boundaries, for parallel reading
    resources: dict[str, Path]  # file name beside the document -> its checked real path (for reference)
    title: str
    notes: int
    diagnostics: list[Diagnostic]
    assets: dict[str, Asset] = field(default_factory=dict)  # file name beside the document -> its bytes


class ExportContext:
    """State for one export: the notes, their anchors, copied images and the embed stack."""

    def __init__(self, vault: Vault, table: NameTable, uris: Iterable[str]) -> None:
        self.vault = vault
        self.table = table
        self.uris = list(uris)
        self.notes: dict[str, NoteInfo] = {}
        self.resources: dict[str, Path] = {}
        self.assets: dict[str, Asset] = {}
        self.diagnostics: list[Diagnostic] = []
        self.backlinks: dict[str, list[str]] = {}
        self._ids: set[str] = set()

    def unique_id(self, base: str) -> str:
        base = base or "x"
        candidate, n = base, 1
        while candidate in self._ids:
            n += 1
            candidate = f"{base}-{n}"
        self._ids.add(candidate)
        return candidate

    def load(self) -> None:
        """Pass one: read every note, give it and its headings and blocks anchors."""
        for uri in self.uris:
            try:
                text = self.vault.read_text(uri)  # inside the vault, a regular file
            except Exception as exc:  # noqa: BLE001 - one bad note must not stop the export
                self.diagnostics.append(Diagnostic(uri, "unreadable", f"left out of the export: {exc}"))
                continue
            parsed = parse_note(uri, text)
            info = NoteInfo(uri, parsed.title or stem(uri), self.unique_id("n-" + slug(uri[:-3])), parsed, text)
            hidden = comment_spans(text, parsed)  # what a comment hides gets no anchor
            for h in parsed.scan.headings:
                if inside(h.span[0], hidden):
                    continue
                key = strip_heading(h.text)
                if key not in info.headings:
                    info.headings[key] = self.unique_id(f"{info.anchor}-{slug(h.text)}")
            for b in parsed.scan.blocks:
                if inside(b.span[0], hidden):
                    continue
                info.blocks.setdefault(b.id.lower(), self.unique_id(f"{info.anchor}-block-{slug(b.id)}"))
            self.notes[uri] = info
        for uri, info in self.notes.items():
            for link in info.parsed.scan.links:
                dest = self.table.resolve(link.target, uri).dest
                if dest in self.notes and dest != uri and uri not in self.backlinks.setdefault(dest, []):
                    self.backlinks[dest].append(uri)

    def anchor_for(self, dest: str, subpath: str) -> str | None:
        info = self.notes.get(dest)
        if info is None:
            return None
        parts = [p for p in subpath.split("#") if p]
        if parts and parts[-1].startswith("^"):
            return info.blocks.get(parts[-1][1:].lower(), info.anchor)
        if parts:
            return info.headings.get(strip_heading(parts[-1]), info.anchor)
        return info.anchor

    def image(self, dest: str, note: str) -> str:
        """Read an image through the vault once; return its file name beside the document.
        Raises OutsideVaultError/NoteReadError for one outside the vault or not a regular file."""
        source = self.vault.real_path(dest)
        for name, path in self.resources.items():
            if path == source:
                if note not in self.assets[name].notes:
                    self.assets[name].notes.append(note)
                return name
        data = self.vault.read_bytes(dest)
        name = f"img-{len(self.resources) + 1:04d}{Path(dest).suffix.lower()}"
        self.resources[name] = source
        self.assets[name] = Asset(dest, data, [note])
        return name


def build_document(ctx: ExportContext, title: str) -> Document:
    """Pass two: convert every note and join them."""
    if not ctx.notes:
        ctx.load()
    chunks = [render_note(ctx, info) for info in (ctx.notes[u] for u in ctx.uris if u in ctx.notes)]
    return Document("\n\n".join(chunks), chunks, dict(ctx.resources), title, len(chunks), ctx.diagnostics, dict(ctx.assets))


def render_note(ctx: ExportContext, info: NoteInfo) -> str:
    parts = [f"# {_escape(info.title)} {{#{info.anchor}}}", ""]
    video = note_video_id(info.parsed)
    source = []
    if video:
        source.append(f"Source: [youtube.com/watch?v={video}]({video_url(video, 0)[:-5]})")
    if "/" in info.uri:
        source.append(f"Channel: {_escape(info.uri.rsplit('/', 1)[0])}")
    if source:
        parts += [" · ".join(source), ""]
    parts.append(convert(ctx, info.uri, info.text, info.parsed, depth=0, stack=[info.uri]))
    linked = [u for u in ctx.backlinks.get(info.uri, []) if u in ctx.notes]
    if linked:
        items = ", ".join(f"[{_escape(ctx.notes[u].title)}](#{ctx.notes[u].anchor})" for u in linked)
        parts += ["", f"**Linked from:** {items}"]
    return "\n".join(parts).rstrip() + "\n"


def convert(
    ctx: ExportContext, uri: str, text: str, parsed: ParsedNote, depth: int, stack: list[str], video: str | None = None
) -> str:
    """Obsidian markdown of one note (or one embedded section, with its note's ``video``) -> commonmark_x."""
    start = parsed.frontmatter.end
    code = [r.span for r in parsed.scan.skipped]
    comments = comment_spans(text, parsed)
    edits: list[Edit] = [Edit(span, "", ("comment",)) for span in comments]
    info = ctx.notes.get(uri) if depth == 0 else None

    def free(span: tuple[int, int]) -> bool:
        return not inside(span[0], comments)

    for h in parsed.scan.headings:
        if not free(h.span):
            continue
        line = text[h.span[0] : h.span[1]]
        marker = _MARKER.match(line)
        if marker is None:
            continue
        level = min(6, h.level + 1 + depth)
        edits.append(Edit((h.span[0], h.span[0] + marker.end()), "#" * level, ("heading",)))
        if info is not None and strip_heading(h.text) in info.headings:
            anchor = info.headings[strip_heading(h.text)]
            if anchor not in info.emitted:
                info.emitted.add(anchor)
                edits.append(Edit((h.span[1], h.span[1]), f" {{#{anchor}}}", ("heading-id",)))
    for b in parsed.scan.blocks:
        if free(b.span):
            block_anchor = info.blocks.get(b.id.lower()) if info is not None else None
            edits.append(Edit(b.span, f"[]{{#{block_anchor}}}" if block_anchor else "", ("block",)))
    video = video or note_video_id(parsed)
    hours = needs_hours([t.seconds for t in parsed.scan.timestamps])
    for t in parsed.scan.timestamps:
        if not free(t.span):
            continue
        vid = t.video_id or video
        span, kept, _ = envelope(text, t.span)  # a wrapping link or brackets go with it
        label = display_label(t.label, t.seconds, hours, markdown=t.form is TimestampForm.MARKDOWN, kept=kept)
        if vid and t.seconds is not None:
            edits.append(Edit(span, f"[{_escape(label)}]({video_url(vid, t.seconds)})", ("timestamp",)))
        else:
            edits.append(Edit(span, _escape(label), ("timestamp",)))
    for link in parsed.scan.links:
        if link.kind is LinkKind.FRONTMATTER or not free(link.span):
            continue
        edits.append(Edit(link.span, _link(ctx, uri, link, depth, stack), ("link",)))
    edits += bases_embed.block_edits(ctx, uri, text, start)  # ```base blocks -> tables (issue 20)
    taken = sorted(e.span for e in edits if e.span[0] != e.span[1])
    for m in _TAG_HTML.finditer(text, start):
        if not inside(m.start(), code) and not inside(m.start(), taken) and free(m.span()):
            edits.append(Edit(m.span(), "", ("html",)))
    for m in HIGHLIGHT.finditer(text, start):
        if not inside(m.start(), code) and not inside(m.start(), taken) and free(m.span()):
            edits.append(Edit((m.start(), m.start() + 2), "[", ("highlight",)))
            edits.append(Edit((m.end() - 2, m.end()), "]{.mark}", ("highlight",)))
    edits.sort(key=lambda e: (e.span[0], e.span[1]))
    edits = _drop_overlaps(edits)
    body = apply_edits(text, edits)[start:] if start else apply_edits(text, edits)
    return callouts(body.lstrip("\ufeff"))


def _drop_overlaps(edits: list[Edit]) -> list[Edit]:
    kept: list[Edit] = []
    cursor = -1
    for e in edits:
        if e.span[0] < cursor:
            continue  # inside an earlier edit (a link in a comment, a tag in a link)
        kept.append(e)
        cursor = max(cursor, e.span[1])
    return kept


def inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _link(ctx: ExportContext, source: str, link: Link, depth: int, stack: list[str]) -> str:
    display = link.display if link.display else visible_text(link.target, link.subpath) or link.target
    if link.kind in (LinkKind.MARKDOWN, LinkKind.MARKDOWN_EMBED) and link.display is not None:
        display = link.display
    dest = ctx.table.resolve(link.target, source).dest if link.target else source
    if link.kind in (LinkKind.EMBED, LinkKind.MARKDOWN_EMBED):
        return _embed(ctx, source, dest, link, display, depth, stack)
    anchor = ctx.anchor_for(dest, link.subpath) if dest else None
    if anchor is None:
        return _escape(display)  # a note outside the export: its name as plain text
    return f"[{_escape(display)}](#{anchor})"


def _embed(ctx: ExportContext, source: str, dest: str | None, link: Link, display: str, depth: int, stack: list[str]) -> str:
    if dest is None:
        ctx.diagnostics.append(Diagnostic(source, "embed-missing", f"embedded file {link.target!r} not found"))
        return _escape(display)
    if dest.lower().endswith(IMAGE_SUFFIXES):
        width = ""
        size = (link.display or "").rsplit("|", 1)[-1].strip()
        if re.fullmatch(r"\d+(?:\s*x\s*\d+)?", size):
            width = f"{{width={size.split('x')[0].strip()}px}}"
        alt = "" if re.fullmatch(r"[\dx\s]*", link.display or "") else (link.display or "").split("|")[0]
        try:
            name = ctx.image(dest, source)
        except Exception as exc:  # noqa: BLE001 - an image outside the vault or unreadable: left out, the export goes on
            ctx.diagnostics.append(Diagnostic(source, "embed-unreadable", f"cannot embed image {dest!r}: {exc}"))
            return _escape(display)
        return f"![{_escape(alt)}]({name}){width}"
    if dest.lower().endswith(".base"):
        return bases_embed.embed_base(ctx, source, dest, link.subpath)  # a base view -> a table (issue 20)
    if not dest.lower().endswith(".md"):
        return _escape(display)
    if dest in stack or depth + 1 > MAX_EMBED_DEPTH:
        chain = " → ".join([*stack, dest])
        reason = "embed cycle" if dest in stack else f"embeds nested deeper than {MAX_EMBED_DEPTH}"
        ctx.diagnostics.append(Diagnostic(source, "embed-cycle" if dest in stack else "embed-depth", f"{reason}: {chain}"))
        anchor = ctx.anchor_for(dest, link.subpath)
        return f"[{_escape(display)}](#{anchor})" if anchor else _escape(display)
    try:
        text = ctx.vault.read_text(dest)  # inside the vault, a regular file
    except Exception as exc:  # noqa: BLE001 - outside the vault or unreadable: left out, the export goes on
        ctx.diagnostics.append(Diagnostic(source, "embed-unreadable", f"cannot embed {dest!r}: {exc}"))
        return _escape(display)
    parsed = parse_note(dest, text)
    video = note_video_id(parsed)
    section = _section(text, parsed, link.subpath)
    if section is not None:
        text = section
        parsed = parse_note(dest, text)
    inner = convert(ctx, dest, text, parsed, depth + 1, [*stack, dest], video)
    return f"\n\n::: {{.embed}}\n{inner.strip()}\n:::\n\n"


def _section(text: str, parsed: ParsedNote, subpath: str) -> str | None:
    """The part of a note an ``![[note#heading]]`` or ``![[note#^block]]`` embed takes."""
    parts = [p for p in subpath.split("#") if p]
    if not parts:
        return None
    body_start = parsed.frontmatter.end
    if parts[-1].startswith("^"):
        for b in parsed.scan.blocks:
            if b.id.lower() == parts[-1][1:].lower():
                return _block_text(text, body_start, b.span)
        return ""
    heads = parsed.scan.headings
    for i, h in enumerate(heads):
        if strip_heading(h.text) == strip_heading(parts[-1]):
            end = next((n.span[0] for n in heads[i + 1 :] if n.level <= h.level), len(text))
            return text[h.span[0] : end]
    return ""


_LIST_LINE = re.compile(r"[ \t]*(?:[-+*]|\d{1,9}[.)])[ \t]")
_BREAK_LINE = re.compile(r"[ \t]*$|[ ]{0,3}#{1,6}(?:[ \t]|$)|[ ]{0,3}(?:`{3}|~{3})")


def _block_text(text: str, body_start: int, span: tuple[int, int]) -> str:
    """The block an ``^id`` names: its list item, or its paragraph (not the heading above it)."""
    line_start = text.rfind("\n", body_start, span[0]) + 1 or body_start
    line_end = text.find("\n", span[1])
    line_end = len(text) if line_end < 0 else line_end
    if _LIST_LINE.match(text, line_start):
        return text[line_start:line_end]
    start = line_start
    while start > body_start:
        prev = text.rfind("\n", body_start, start - 1) + 1 or body_start
        if _BREAK_LINE.match(text[prev : start - 1]):
            break
        start = prev
    return text[start:line_end]


def callouts(body: str) -> str:
    """``> [!type] Title`` blockquotes -> ``::: {.callout .callout-type}`` divs with a bold title."""
    if "[!" not in body:
        return body
    lines = body.split("\n")
    out: list[str] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        opener = re.match(r"[ ]{0,3}(`{3,}|~{3,})", lines[i])
        if opener and (fence is None or opener.group(1).startswith(fence)):
            fence = None if fence else opener.group(1)[:3]
        m = _CALLOUT.match(lines[i]) if fence is None else None
        if m is None:
            out.append(lines[i])
            i += 1
            continue
        kind = m.group(1).lower()
        title = m.group(3).strip() or kind.replace("-", " ").capitalize()
        content = []
        i += 1
        while i < len(lines) and lines[i].startswith(">"):
            content.append(re.sub(r"^> ?", "", lines[i]))
            i += 1
        out += ["", f"::: {{.callout .callout-{slug(kind) or 'note'}}}", f"**{title}**", "", *content, ":::", ""]
    return "\n".join(out)


def copy_resources(assets: dict[str, Asset], folder: Path) -> None:
    """Write the document's images beside it, from the bytes read through the vault (never from
    a vault path, which could have been swapped for a symlink since it was checked)."""
    for name, asset in assets.items():
        (folder / name).write_bytes(asset.data)


# -- options: user input, checked with one clear line each ---------------------------------------


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
