"""Flashcards in a note: where each card's question and answer are and what identifies it. Pure.

The syntax is the Obsidian spaced-repetition plugin's:

- ``Question::Answer`` on one line; ``Question:::Answer`` also asks the other way round;
- a paragraph split by a line holding only ``?`` (``??`` for both directions): the lines above
  are the question, the lines below the answer;
- a paragraph with clozes, ``==hidden==`` (one card per highlight) or ``{{c1::hidden}}``.

A note with none of these still gives cards: one per heading of ``heading_level`` (front: the
note title and the heading, back: the section up to the next heading at that level or above).
Nothing inside code, math or HTML blocks counts.

Each card gets a ``key`` that identifies it within its note across edits (the exporter makes the
Anki GUID from the note's file name and this key): an explicit ``^block-id`` at the end of the card
when there is one (survives editing anything), else the question's visible text (survives editing
the answer), the cloze paragraph with its hidden parts blanked (survives editing what is hidden),
or the heading's text (survives editing the section). Timestamps, links' markup, comments and
emphasis marks do not count, so normalizing the vault keeps every key.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from enum import Enum

from exporters.syntax import COMMENT, HIGHLIGHT, inside
from vaultsync import BlockId, ParsedNote

Span = tuple[int, int]

_BLOCK_REGIONS = frozenset({"fence", "hblock", "indented_code", "mblock"})
_INLINE_REGIONS = frozenset({"code", "math", "dmath", "comment"})
_SEPARATOR = re.compile(r":::?")
_CLOZE = re.compile(r"\{\{c(\d+)::((?:[^{}]|\{(?!\{)|\}(?!\}))*?)\}\}")
_LINE_MARKER = re.compile(r"[ \t]*(?:>[ \t]*)*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+(?:\[.\][ \t]+)?)?")
_QUESTION_LINE = re.compile(r"\n[ \t]*\?\??[ \t]*(?:\r?\n|\Z)")  # on "\n" + body
_KEY_NOISE = re.compile(r"[*_`~=]+")
_ATX_TEXT = re.compile(r" {0,3}#{1,6}[ \t]*")
_CLOSING_HASHES = re.compile(r"(?:[ \t]+#+)?[ \t]*$")


class CardKind(str, Enum):
    """How a card was written; decides the Anki note type."""

    BASIC = "basic"  # Question::Answer, or ? between question and answer
    REVERSED = "reversed"  # Question:::Answer, or ?? between them: also Answer -> Question
    CLOZE = "cloze"  # ==hidden== or {{c1::hidden}}
    HEADING = "heading"  # a heading and its section, from a note without card syntax


@dataclass(frozen=True, slots=True)
class CardSource:
    """One card as spans of the note text (rendering happens later)."""

    kind: CardKind
    key: str
    front: Span  # the question; the cloze paragraph; the heading's text
    back: Span  # the answer; the heading's section; empty for clozes
    span: Span  # the whole card, for the nearest timestamp
    block: Span | None = None  # the ``^id`` marker, left out of the card


def extract_cards(text: str, parsed: ParsedNote, heading_level: int = 2, cloze_highlights: bool = True) -> list[CardSource]:
    """Every card of a note, in document order, with keys unique within the note."""
    scan = parsed.scan
    blocks = [r.span for r in scan.skipped if r.kind in _BLOCK_REGIONS]
    inline = [r.span for r in scan.skipped if r.kind in _INLINE_REGIONS]
    inline += [m.span() for m in COMMENT.finditer(text, parsed.frontmatter.end)]
    inline += [link.span for link in scan.links]
    inline.sort()
    ids = {b.span[0]: b for b in scan.blocks}
    cards: list[CardSource] = []
    body = text[parsed.frontmatter.end :]
    if "::" not in body and "==" not in body and "{{c" not in body and _QUESTION_LINE.search("\n" + body) is None:
        paras: list[list[Span]] = []  # no card syntax at all: skip the paragraph pass
    else:
        paras = _paragraphs(text, parsed.frontmatter.end, blocks, [h.span for h in scan.headings])
    for para in paras:
        cards += _cards_in(text, para, inline, ids, cloze_highlights)
    if not cards and heading_level > 0:
        cards = _heading_cards(text, parsed, heading_level)
    return _unique_keys(cards, text, parsed)


def _paragraphs(text: str, start: int, blocks: list[Span], headings: list[Span]) -> list[list[Span]]:
    """Runs of non-blank lines outside code blocks and headings, as line spans."""
    breaks = sorted(blocks + headings)
    paras: list[list[Span]] = []
    current: list[Span] = []
    pos = start
    b = 0
    while pos <= len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        while b < len(breaks) and breaks[b][1] <= pos:
            b += 1
        broken = b < len(breaks) and breaks[b][0] <= end and breaks[b][1] > pos
        if broken or not text[pos:end].strip():
            if current:
                paras.append(current)
            current = []
        else:
            current.append((pos, end))
        pos = end + 1
    if current:
        paras.append(current)
    return paras


def _cards_in(text: str, lines: list[Span], inline: list[Span], ids: dict[int, BlockId], cloze_highlights: bool) -> list[CardSource]:
    first, last = lines[0][0], lines[-1][1]
    block = _block_id(text, lines[-1], ids)
    for i, (a, b) in enumerate(lines):
        mark = text[a:b].strip()
        if mark in ("?", "??") and 0 < i < len(lines) - 1:
            kind = CardKind.REVERSED if mark == "??" else CardKind.BASIC
            return [CardSource(kind, "", (first, lines[i - 1][1]), (lines[i + 1][0], last), (first, last), block)]
    singles = []
    for a, b in lines:
        sep = _separator(text, a, b, inline)
        if sep is None:
            continue
        q0 = _LINE_MARKER.match(text, a, b).end()  # type: ignore[union-attr]
        if not text[q0 : sep[0]].strip() or not text[sep[1] : b].strip():
            continue
        kind = CardKind.REVERSED if sep[1] - sep[0] == 3 else CardKind.BASIC
        singles.append(CardSource(kind, "", (q0, sep[0]), (sep[1], b), (a, b), _block_id(text, (a, b), ids)))
    if singles:
        return singles
    para = text[first:last]
    has_cloze = _CLOZE.search(para) is not None
    if cloze_highlights and not has_cloze:
        has_cloze = any(not inside(first + m.start(), inline) for m in HIGHLIGHT.finditer(para))
    if has_cloze:
        return [CardSource(CardKind.CLOZE, "", (first, last), (last, last), (first, last), block)]
    return []


def _separator(text: str, a: int, b: int, inline: list[Span]) -> Span | None:
    for m in _SEPARATOR.finditer(text, a, b):
        at = m.start()
        if inside(at, inline) or text[at - 1 : at] == ":" or text[m.end() : m.end() + 1] == ":":
            continue  # in code or a link, or a run of four or more colons
        if re.search(r"\{\{c\d+$", text[max(a, at - 8) : at]):
            continue  # {{c1::cloze}}
        return m.span()
    return None


def _block_id(text: str, line: Span, ids: dict[int, BlockId]) -> Span | None:
    at = text.rfind("^", line[0], line[1])
    hit = ids.get(at)
    return (at, at + 1 + len(hit.id)) if hit is not None else None


def _heading_cards(text: str, parsed: ParsedNote, level: int) -> list[CardSource]:
    heads = parsed.scan.headings
    cards = []
    for i, h in enumerate(heads):
        if h.level != level:
            continue
        end = next((n.span[0] for n in heads[i + 1 :] if n.level <= level), len(text))
        if not text[h.span[1] : end].strip():
            continue
        t0 = _ATX_TEXT.match(text, h.span[0], h.span[1]).end()  # type: ignore[union-attr]
        t1 = t0 + len(_CLOSING_HASHES.sub("", text[t0 : h.span[1]]))
        cards.append(CardSource(CardKind.HEADING, "", (t0, t1), (h.span[1], end), (h.span[0], end)))
    return cards


def _unique_keys(cards: list[CardSource], text: str, parsed: ParsedNote) -> list[CardSource]:
    out = []
    seen: dict[str, int] = {}
    cuts = _cuts(parsed) if cards else []
    for card in cards:
        if card.block is not None:
            key = "id:" + text[card.block[0] + 1 : card.block[1]].lower()
        elif card.kind is CardKind.HEADING:
            key = "h:" + _normal(key_text(text, card.front, parsed, cuts=cuts))
        elif card.kind is CardKind.CLOZE:
            key = "c:" + _normal(key_text(text, card.front, parsed, blank_clozes=True, cuts=cuts))
        else:
            key = "q:" + _normal(key_text(text, card.front, parsed, cuts=cuts))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        out.append(CardSource(card.kind, key, card.front, card.back, card.span, card.block))
    return out


def _cuts(parsed: ParsedNote) -> list[tuple[int, int, str]]:
    """What :func:`key_text` removes or replaces in a note, sorted: (start, end, visible text)."""
    scan = parsed.scan
    cuts = [(t.span[0], t.span[1], "") for t in scan.timestamps]
    cuts += [(link.span[0], link.span[1], link.display or link.target + link.subpath) for link in scan.links]
    cuts += [(blk.span[0], blk.span[1], "") for blk in scan.blocks]
    cuts += [(r.span[0], r.span[1], "") for r in scan.skipped if r.kind == "comment"]
    cuts.sort()
    return cuts


def key_text(text: str, span: Span, parsed: ParsedNote, blank_clozes: bool = False, cuts: list[tuple[int, int, str]] | None = None) -> str:
    """The visible words of ``text[span]``: links as their text; timestamps, ids and comments gone.

    ``cuts`` is :func:`_cuts` of the note, when the caller has it (one per note, not per card).
    """
    a, b = span
    if cuts is None:
        cuts = _cuts(parsed)
    out = []
    pos = a
    for i in range(bisect_left(cuts, a, key=_first), len(cuts)):
        s, e, value = cuts[i]
        if s >= b:
            break
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(value)
        pos = min(e, b)
    out.append(text[pos:b])
    visible = COMMENT.sub("", "".join(out))
    if blank_clozes:
        visible = _CLOZE.sub(lambda m: "{{c" + m.group(1) + "}}", visible)
        visible = HIGHLIGHT.sub("{{}}", visible)
    return visible


def _first(cut: tuple[int, int, str]) -> int:
    return cut[0]


def _normal(text: str) -> str:
    return " ".join(_KEY_NOISE.sub("", text).split()).casefold()
