"""The shared export pipeline: the selected notes (:mod:`exporters.document`) -> one pandoc-ready
document (commonmark_x), which the PDF and EPUB writers render.

Obsidian syntax is converted before pandoc sees it, so pandoc's fast CommonMark reader can be used:
wikilinks to exported notes become internal cross-references (``#anchor``), links to other notes
plain text, embeds are transcluded (depth limit, cycle detection; ``#heading`` takes that section,
``#^id`` that block; images are copied beside the document), callouts become fenced divs,
``==highlights==`` marked spans, ``%%comments%%`` disappear, every timestamp becomes a link to its
second of the video (shown as :func:`exporters.syntax.shown_timestamps` says, as on the Anki
cards), each note starts with its source and ends with "Linked from" (backlinks within the
export). Only anchors that exist are ever linked to, so no writer meets a missing label.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from exporters import bases_embed
from exporters.document import Document, ExportContext, NoteInfo
from exporters.syntax import HIGHLIGHT, IMAGE_SUFFIXES, callouts, comment_spans, inside, section, shown_timestamps, strip_heading
from vaultsync import Diagnostic, Edit, Link, LinkKind, ParsedNote, apply_edits, note_video_id, parse_note, video_url, visible_text

MAX_EMBED_DEPTH = 5  # as Obsidian, which falls back to a plain box deeper than that
_TAG_HTML = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_MARKER = re.compile(r"[ ]{0,3}#{1,6}")

__all__ = ["Document", "ExportContext", "build_document", "convert", "render_note"]


def build_document(ctx: ExportContext, title: str, progress: Callable[[int, int], None] | None = None) -> Document:
    """Pass two: convert every note and join them (``progress(done, total)`` as notes are converted)."""
    ctx.load()
    infos = [ctx.notes[u] for u in ctx.uris if u in ctx.notes]
    chunks = []
    for done, info in enumerate(infos, 1):
        chunks.append(render_note(ctx, info))
        if progress is not None and (done % 25 == 0 or done == len(infos)):
            progress(done, len(infos))
    return Document("\n\n".join(chunks), chunks, dict(ctx.resources), title, len(chunks), ctx.diagnostics, dict(ctx.assets),
                    sorted(u for u in ctx.uris if u in ctx.unreadable))  # fmt: skip


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

    def free(pos: int) -> bool:
        return not inside(pos, comments)

    for h in parsed.scan.headings:
        if not free(h.span[0]):
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
        if free(b.span[0]):
            block_anchor = info.blocks.get(b.id.lower()) if info is not None else None
            edits.append(Edit(b.span, f"[]{{#{block_anchor}}}" if block_anchor else "", ("block",)))
    _, stamps = shown_timestamps(text, parsed, video or note_video_id(parsed), ctx.always_hours)
    for t in stamps:
        if not free(t.at):
            continue
        if t.video is not None:
            edits.append(Edit(t.span, f"[{_escape(t.label)}]({video_url(t.video, t.seconds)})", ("timestamp",)))
        else:
            edits.append(Edit(t.span, _escape(t.label), ("timestamp",)))
    dests = info.dests if info is not None and parsed is info.parsed else ctx.dests(uri, parsed)
    for link, dest in zip(parsed.scan.links, dests, strict=True):
        if link.kind is LinkKind.FRONTMATTER or not free(link.span[0]):
            continue
        edits.append(Edit(link.span, _link(ctx, uri, link, dest, depth, stack), ("link",)))
    edits += bases_embed.block_edits(ctx, uri, text, start)  # ```base blocks -> tables (issue 20)
    taken = sorted(e.span for e in edits if e.span[0] != e.span[1])
    for m in _TAG_HTML.finditer(text, start):
        if not inside(m.start(), code) and not inside(m.start(), taken) and free(m.start()):
            edits.append(Edit(m.span(), "", ("html",)))
    for m in HIGHLIGHT.finditer(text, start):
        if not inside(m.start(), code) and not inside(m.start(), taken) and free(m.start()):
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


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _link(ctx: ExportContext, source: str, link: Link, dest: str | None, depth: int, stack: list[str]) -> str:
    display = link.display if link.display else visible_text(link.target, link.subpath) or link.target
    if link.kind in (LinkKind.MARKDOWN, LinkKind.MARKDOWN_EMBED) and link.display is not None:
        display = link.display
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
        text, parsed = ctx.embedded(dest)
    except Exception as exc:  # noqa: BLE001 - outside the vault or unreadable: left out, the export goes on
        ctx.diagnostics.append(Diagnostic(source, "embed-unreadable", f"cannot embed {dest!r}: {exc}"))
        return _escape(display)
    video = note_video_id(parsed)
    part = section(text, parsed, link.subpath)
    if part is not None:
        text = part
        parsed = parse_note(dest, text)
    inner = convert(ctx, dest, text, parsed, depth + 1, [*stack, dest], video)
    return f"\n\n::: {{.embed}}\n{inner.strip()}\n:::\n\n"
