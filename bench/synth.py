#!/usr/bin/env python3
"""Synthetic Obsidian vault generator for vaultsync benchmarks.

Produces a vault shaped like the tubegraph notes in
``shared/fixtures/tubegraph-sample`` (one folder per channel, a channel index
note, ~10 KB notes dense with YouTube timestamp anchors and wikilinks), but with
word-salad text from a fixed, hand-written vocabulary: no fixture prose is
copied.

Usage::

    python bench/synth.py OUT_DIR --notes 20000 --seed 1 [--channels 40]

API::

    generate(out_dir, notes, seed=1, channels=None) -> dict   # summary stats

Output is a pure function of (notes, seed, channels): every random choice comes
from ``random.Random`` instances seeded from ``seed``; the file contents never
depend on the clock (only the ``seconds`` stat is timed).
Each note is rendered from its own RNG (seeded from ``seed`` and the note's
index) after a shared planning pass, so the content of a note does not depend
on the order files are written in.

Shape of a vault of N notes (defaults)
--------------------------------------
* ``round(N / 500)`` channels, folder ``channel_NNN``; each has an index note
  ``channel_NNN/channel_NNN.md`` with ``### [Video title](https://www.youtube.com/watch?v=ID)``
  headings, each followed by ``- [[slug | Title]]`` bullets for the 3-6 notes
  made from that video (those notes share the video's ``videoId``).
* Each note: frontmatter ``title:``/``videoId:``, ``From: [[channel_NNN]] <br/> ``,
  then paragraphs, ``## Headings`` (some ``###``, a few with a wikilink in
  them), ``*   **Bold**:`` bullets and the odd ``> [!NOTE]`` callout.  Sizes
  follow a skewed distribution (about 2.5 KB to 40 KB, mean about 10 KB).
* Most sentences end with ``<a class="yt-timestamp" data-t="HH:MM:SS">[HH:MM:SS]</a>``
  (about 50 per note; ~1.5% with a label that differs from ``data-t``, ~0.5%
  with an empty label; some sentences carry two or three comma-separated ones).
* About 15 body wikilinks per note (heavy-tailed per note), split roughly:
  70% ``[[slug | Display]]`` to existing notes (mostly the same channel; mostly
  spaces around the pipe, some ``[[slug|Display]]`` and bare ``[[slug]]``),
  12% written as the target's title ``[[Some Title]]`` (unresolved in Obsidian),
  15% to slugs that do not exist, 2% ``[[slug#Heading]]`` (mostly a real heading
  of the target), 1% embeds ``![[slug]]``.
* About 1% of notes have a slug (and title) that also exists in another channel
  folder.
* Files are written with ``open(path, "w", encoding="utf-8", newline="")`` and,
  like the fixtures, end without a trailing newline.

The ``links`` figure in the summary counts every ``[[...]]`` written (body
links, embeds, ``From:`` links and index bullets), i.e. exactly what
``re.findall(r"\\[\\[([^\\]]+)\\]\\]", text)`` finds over the whole vault
(see bench/floor.py).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

__all__ = ["generate", "NOTES_PER_CHANNEL"]

NOTES_PER_CHANNEL = 500

# --------------------------------------------------------------------------
# Vocabulary (invented for this generator; deliberately generic).
# --------------------------------------------------------------------------

_NOUNS = """
archive signal harbor lattice engine border treaty ledger orbit canal reactor
market charter garden current frontier budget cluster delta river channel
network protocol forecast council mineral harvest pipeline satellite corridor
province colony vessel circuit glacier volcano reef tunnel bridge railway
factory battery sensor spectrum membrane enzyme protein fossil crater comet
nebula telescope archive league parliament ministry cabinet tribunal alliance
coalition embargo tariff subsidy pension census mandate referendum monarchy
republic dynasty uprising ceasefire mission expedition voyage migration
settlement mountain plateau desert tundra forest wetland estuary island
peninsula archipelago strait lagoon aquifer monsoon drought flood wildfire
storm climate carbon hydrogen lithium copper cobalt silicon graphite uranium
plasma magnet turbine rotor drone robot algorithm compiler database server
browser codec camera lens pixel sensor vaccine antibody neuron synapse genome
virus bacterium cell tissue organ muscle skeleton feather scale shell
""".split()

_ADJS = """
northern southern eastern western coastal inland rural urban ancient modern
early late rapid gradual fragile durable hidden visible rival allied neutral
contested disputed frozen molten orbital lunar solar tidal seismic volcanic
digital analog autonomous manual synthetic organic genetic chemical electric
magnetic nuclear thermal acoustic optical quantum fiscal monetary federal
regional global local civic military naval strategic tactical economic
political cultural historical legal ethical medical clinical experimental
theoretical practical dense sparse narrow broad shallow deep steady volatile
""".split()

_VERBS = """
shapes reshapes limits expands reduces doubles halves shifts anchors delays
accelerates undermines supports rebuilds replaces funds blocks opens closes
measures tracks predicts explains reveals hides links splits merges connects
isolates protects exposes stabilises destabilises drives slows cools heats
absorbs releases stores moves carries lifts lowers balances tests proves
""".split()

_ADVS = """
quickly slowly quietly openly gradually suddenly steadily rarely often
partly largely mostly barely nearly clearly roughly briefly formally
""".split()

_FUNC = """
the the the a an this that each every some most many few several
""".split()

_PREPS = """
of in on across within beyond between under over through during after before
around along against toward near
""".split()

_CONJ = """
while because although since whereas unless until once
""".split()

# Invented place / person names, a few with non-ASCII letters.
_NAMES = """
Valdoria Kestrel Oruvia Talmek Brenholt Sarvano Ilmaren Quessa Dorvik
Marrowgate Tessaly Ombrel Caradun Velhaven Nordmark Ystrad Halvern Pellorin
Arkadi Zemlyn Corvane Elstow Fenmoor Gallowby Istrava Jorund Lyskor Mirecourt
Nauvessa Ostrander Perrault Quillon Rostova Sundel Tarrow Umbria Varnholm
Wexmoor Yarrowby Zarqa Ålvik Brückner Čelinac Dúnmore Łowicz Šibenac Ñandel
Østerby Zürau
""".split()

_EXTRA_PUNCT_WORDS = ["—", "–", "“so-called”", "‘informal’", "±5%", "~20°C", "€40m", "10²"]

_TITLE_TEMPLATES = (
    "{A} {n} and {n} in {P}",
    "Impact of {n} {n} on {P}",
    "Role of {a} {n} in {n} {n}",
    "{A} {n} {n}",
    "History of {P} {n} {n}",
    "{P} and {P} {n} dispute",
    "Challenges of {a} {n} {n}",
    "Future of {a} {n} and {n}",
    "{A} {n} of the {n} {n}",
    "{P} {a} {n} strategy",
    "Origins of the {a} {n}",
    "Relationship between {n} and {a} {n}",
    "Debate over {a} {n} in {P}",
    "Science of {n} {n}",
    "{A} {n} {n} and its consequences",
)

_VIDEO_TEMPLATES = (
    "Is {P} About to {V} the {N}?",
    "{PU} | Why the {N} Matters",
    "How the {N} Really Works",
    "The {A} {N} Nobody Talks About",
    "{PU}-{PU2} | A New {N}?",
    "What Happens When a {N} Fails?",
    "I Tried to Build a {A} {N}",
    "Why {P} Can't Escape Its {N}",
)

_TS_FMT = '<a class="yt-timestamp" data-t="{0}">[{1}]</a>'


def _slugify(title: str) -> str:
    out = []
    for ch in title.lower():
        if ch.isalnum() and ch.isascii():
            out.append(ch)
        elif ch in " -_":
            out.append("_")
    slug = "".join(out)
    while "__" in slug:
        slug = slug.replace("__", "_")
    return slug.strip("_")


def _hms(t: int) -> str:
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


_HMS_N = 4 * 3600
_HMS = [_hms(x) for x in range(_HMS_N)]


def _video_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choices(alphabet, k=11))


# --------------------------------------------------------------------------
# Planning: channels, videos, slugs/titles, headings, sizes.
# --------------------------------------------------------------------------

class _Plan:
    __slots__ = (
        "n", "channels", "chan_of", "slug", "title", "video_of", "videos",
        "headings", "size", "chan_members", "missing", "clauses_cap",
        "clauses", "bold_phrases", "dups",
    )


def _make_title(rng: random.Random) -> str:
    tpl = rng.choice(_TITLE_TEMPLATES)
    parts = []
    i = 0
    while i < len(tpl):
        if tpl[i] == "{":
            j = tpl.index("}", i)
            key = tpl[i + 1:j]
            if key == "n":
                parts.append(rng.choice(_NOUNS))
            elif key == "a":
                parts.append(rng.choice(_ADJS))
            elif key == "A":
                parts.append(rng.choice(_ADJS).capitalize())
            elif key == "P":
                parts.append(rng.choice(_NAMES[:40]))  # ASCII-only names in titles
            i = j + 1
        else:
            parts.append(tpl[i])
            i += 1
    title = "".join(parts)
    # Tubegraph titles are mostly sentence case, some Title Case.
    if rng.random() < 0.3:
        title = " ".join(w if w in ("and", "of", "the", "in", "on") else w[:1].upper() + w[1:]
                         for w in title.split(" "))
    return title[:1].upper() + title[1:]


def _base_verb(v: str) -> str:
    if v.endswith("ies"):
        return v[:-3] + "y"
    if v.endswith(("ches", "shes", "sses", "xes")):
        return v[:-2]
    return v[:-1] if v.endswith("s") else v


def _make_video_title(rng: random.Random) -> str:
    tpl = rng.choice(_VIDEO_TEMPLATES)
    p = rng.choice(_NAMES[:40])
    return tpl.format(
        P=p,
        PU=p.upper(),
        PU2=rng.choice(_NAMES[:40]).upper(),
        V=_base_verb(rng.choice(_VERBS)).capitalize(),
        N=rng.choice(_NOUNS).capitalize(),
        A=rng.choice(_ADJS).capitalize(),
    )


def _make_heading(rng: random.Random) -> str:
    k = rng.randint(2, 5)
    words = []
    for idx in range(k):
        r = rng.random()
        if r < 0.55:
            w = rng.choice(_NOUNS)
        elif r < 0.85:
            w = rng.choice(_ADJS)
        elif r < 0.93 and 0 < idx < k - 1:
            w = rng.choice(("and", "of", "in", "vs."))
        else:
            w = rng.choice(_NAMES)
        words.append(w[:1].upper() + w[1:] if (idx == 0 or rng.random() < 0.6) else w)
    return " ".join(words)


def _make_clause(rng: random.Random) -> str:
    """A lower-case clause of roughly 7-16 words."""
    w = []
    w.append(rng.choice(_FUNC))
    if rng.random() < 0.6:
        w.append(rng.choice(_ADJS))
    w.append(rng.choice(_NOUNS))
    if rng.random() < 0.35:
        w.append(rng.choice(_PREPS))
        w.append(rng.choice(_NAMES) if rng.random() < 0.4 else rng.choice(_NOUNS))
    if rng.random() < 0.3:
        w.append(rng.choice(_ADVS))
    w.append(rng.choice(_VERBS))
    w.append(rng.choice(_FUNC))
    if rng.random() < 0.5:
        w.append(rng.choice(_ADJS))
    w.append(rng.choice(_NOUNS))
    for _ in range(rng.randint(0, 2)):
        w.append(rng.choice(_PREPS))
        if rng.random() < 0.5:
            w.append(rng.choice(_FUNC))
        r = rng.random()
        if r < 0.2:
            w.append(rng.choice(_NAMES))
        elif r < 0.3:
            w.append(str(rng.choice((rng.randint(2, 99), rng.randint(1900, 2030)))))
        else:
            w.append(rng.choice(_NOUNS))
    if rng.random() < 0.05:
        w.insert(rng.randint(1, len(w) - 1), rng.choice(_EXTRA_PUNCT_WORDS))
    if rng.random() < 0.08:
        i = rng.randint(1, len(w) - 1)
        w[i] = "*" + w[i] + "*"
    for i in range(len(w) - 1):  # a/an agreement
        if w[i] in ("a", "an"):
            w[i] = "an" if w[i + 1].lstrip("*")[:1] in "aeiou" else "a"
    return " ".join(w)


def _plan(notes: int, seed: int, channels: int | None) -> _Plan:
    rng = random.Random(seed)
    p = _Plan()
    p.n = notes
    nch = channels if channels else max(1, round(notes / NOTES_PER_CHANNEL))
    nch = max(1, min(nch, max(1, notes)))
    p.channels = [f"channel_{c:03d}" for c in range(nch)]

    # Distribute notes over channels (as evenly as possible, contiguous ids).
    base, rem = divmod(notes, nch)
    chan_of = []
    members = []
    start = 0
    for c in range(nch):
        cnt = base + (1 if c < rem else 0)
        chan_of.extend([c] * cnt)
        members.append(list(range(start, start + cnt)))
        start += cnt
    p.chan_of = chan_of
    p.chan_members = members

    # Videos: groups of 3-6 consecutive notes within a channel.
    video_of = [0] * notes
    videos = []  # (channel, video_id, video_title, [note ids])
    seen_vid = set()
    for c, mem in enumerate(members):
        i = 0
        while i < len(mem):
            k = rng.randint(3, 6)
            if len(mem) - (i + k) in (1, 2):  # avoid a tiny trailing group
                k = len(mem) - i if len(mem) - i <= 6 else k - 1
            group = mem[i:i + k]
            vid = _video_id(rng)
            while vid in seen_vid:
                vid = _video_id(rng)
            seen_vid.add(vid)
            for nid in group:
                video_of[nid] = len(videos)
            videos.append((c, vid, _make_video_title(rng), group))
            i += k
    p.video_of = video_of
    p.videos = videos

    # Unique titles / slugs (unique vault-wide before duplicates are injected).
    slugs = [""] * notes
    titles = [""] * notes
    used = set(p.channels)
    for i in range(notes):
        while True:
            t = _make_title(rng)
            s = _slugify(t)
            if s not in used:
                break
        used.add(s)
        slugs[i] = s
        titles[i] = t

    # ~1% of notes end up sharing a slug with a note in another channel:
    # copy slug+title of a random note from a different channel into ~0.5%.
    dups = []
    if nch > 1:
        n_dup = int(round(notes * 0.005))
        taken = set()
        chosen = 0
        attempts = 0
        while chosen < n_dup and attempts < n_dup * 20:
            attempts += 1
            a = rng.randrange(notes)
            b = rng.randrange(notes)
            if chan_of[a] == chan_of[b] or a in taken or b in taken:
                continue
            taken.add(a)
            taken.add(b)
            slugs[a] = slugs[b]
            titles[a] = titles[b]
            dups.append((a, b))
            chosen += 1
    p.dups = dups
    p.slug = slugs
    p.title = titles

    # Slugs that do not exist anywhere (targets of dangling links).
    missing = []
    n_missing = max(50, notes // 4)
    while len(missing) < n_missing:
        s = _slugify(_make_title(rng))
        if s not in used:
            used.add(s)
            missing.append(s)
    p.missing = missing

    # Sizes: log-normal, mean ~10 KB, clipped to [2.5 KB, 40 KB].
    sigma = 0.45
    mu = math.log(10_000) - sigma * sigma / 2
    p.size = [min(40_000, max(2_500, int(rng.lognormvariate(mu, sigma)))) for _ in range(notes)]

    # Headings: (level, text) list per note, count scaled by size.
    headings = []
    for i in range(notes):
        n_h2 = max(1, min(12, round(p.size[i] / 2300) + rng.randint(-1, 1)))
        hs = []
        for _ in range(n_h2):
            hs.append((2, _make_heading(rng)))
            if rng.random() < 0.35:
                for _ in range(rng.randint(1, 3)):
                    hs.append((3, _make_heading(rng)))
        headings.append(hs)
    p.headings = headings

    # Shared text pools.
    clauses = [_make_clause(rng) for _ in range(6000)]
    p.clauses = clauses
    p.clauses_cap = [c[:1].upper() + c[1:] if c[0] != "*" else "*" + c[1:2].upper() + c[2:] for c in clauses]
    p.bold_phrases = [_make_heading(rng) for _ in range(2000)]
    return p


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

def _display_for(rng: random.Random, title: str) -> str:
    r = rng.random()
    if r < 0.45:
        return title
    if r < 0.8:
        return title.lower()
    words = title.lower().split()
    k = min(len(words), 1 + int(rng.random() * 4))
    return " ".join(words[-k:])


class _Counter:
    __slots__ = ("links", "existing", "title_form", "missing", "anchor", "embed",
                 "heading_links", "timestamps", "ts_relabel", "ts_empty")

    def __init__(self):
        for k in self.__slots__:
            setattr(self, k, 0)


def _link(rng: random.Random, p: _Plan, me: int, cnt: _Counter,
          allow_embed: bool = True) -> tuple[str, bool]:
    """Return (markup, is_embed) for one body wikilink from note ``me``."""
    r = rng.random()
    cnt.links += 1
    if r < 0.70 or r >= 0.99:
        # target: existing note, mostly same channel
        if rng.random() < 0.75:
            mem = p.chan_members[p.chan_of[me]]
            tgt = mem[int(rng.random() * len(mem))]
        else:
            tgt = int(rng.random() * p.n)
        if tgt == me:
            tgt = (tgt + 1) % p.n
        slug = p.slug[tgt]
        if r >= 0.99 and allow_embed:
            cnt.embed += 1
            return "![[" + slug + "]]", True
        cnt.existing += 1
        s = rng.random()
        if s < 0.93:
            return "[[" + slug + " | " + _display_for(rng, p.title[tgt]) + "]]", False
        if s < 0.97:
            return "[[" + slug + "|" + _display_for(rng, p.title[tgt]) + "]]", False
        return "[[" + slug + "]]", False
    if r < 0.82:
        cnt.title_form += 1
        tgt = int(rng.random() * p.n)
        if rng.random() < 0.65:
            return "[[" + p.title[tgt] + "]]", False
        return "[[" + p.title[tgt] + " | " + _display_for(rng, p.title[tgt]) + "]]", False
    if r < 0.97:
        cnt.missing += 1
        s = p.missing[int(rng.random() * len(p.missing))]
        disp = s.replace("_", " ")
        if rng.random() < 0.5:
            disp = disp[:1].upper() + disp[1:]
        return "[[" + s + " | " + disp + "]]", False
    # heading link
    cnt.anchor += 1
    tgt = int(rng.random() * p.n)
    hs = p.headings[tgt]
    if rng.random() < 0.85:
        h = hs[int(rng.random() * len(hs))][1]
    else:
        h = _make_heading(rng)
    target = p.slug[tgt] + "#" + h
    if rng.random() < 0.5:
        return "[[" + target + "]]", False
    return "[[" + target + " | " + h.lower() + "]]", False


def _render_note(p: _Plan, i: int, seed: int, cnt: _Counter) -> str:
    rng = random.Random(seed * 1_000_003 + i + 7)
    rand = rng.random

    def randrange(k: int) -> int:  # faster than Random.randrange for hot paths
        return int(rand() * k)

    def randint(lo: int, hi: int) -> int:
        return lo + int(rand() * (hi - lo + 1))
    clauses = p.clauses
    caps = p.clauses_cap
    ncl = len(clauses)
    bolds = p.bold_phrases
    nb = len(bolds)

    size = p.size[i]
    hs = p.headings[i]
    # Link rate: ~15 links per 10 KB on average, heavy-tailed per note.
    link_mult = rng.lognormvariate(-0.32, 0.8)  # mean ~1.0
    p_link = min(0.95, 0.27 * link_mult)

    t = randint(2, 12)  # video time cursor (seconds)

    pending: list[str] = []  # embeds waiting for the end of the current block

    def ts() -> str:
        nonlocal t
        t += randint(3, 16)
        cur = t
        if rand() < 0.01:  # occasional out-of-order / mis-scaled reference
            cur = randint(0, t + 600)
        d = _HMS[cur] if cur < _HMS_N else _hms(cur)
        x = rand()
        cnt.timestamps += 1
        if x < 0.015:
            cnt.ts_relabel += 1
            return _TS_FMT.format(d, _hms(cur + randint(2, 16)))
        if x < 0.02:
            cnt.ts_empty += 1
            return _TS_FMT.format(d, "")
        return _TS_FMT.format(d, d)

    def sentence() -> str:
        """One sentence, usually ending in a timestamp anchor, maybe with links."""
        s = caps[randrange(ncl)]
        if rand() < p_link:
            mk, emb = _link(rng, p, i, cnt)
            if emb:
                # embeds go on their own line after the current block
                pending.append(mk)
                return s + _trail()
            s = s + " " + mk
            if rand() < 0.6:
                s = s + " " + clauses[randrange(ncl)]
            if rand() < 0.08:  # occasionally a second link
                s = s + ", " + _link(rng, p, i, cnt, False)[0]
        elif rand() < 0.45:
            s = s + (", " if rand() < 0.6 else " " + _CONJ_CHOICE() + " ") + clauses[randrange(ncl)]
        return s + _trail()

    def _CONJ_CHOICE() -> str:
        return _CONJ[randrange(len(_CONJ))]

    def _trail() -> str:
        x = rand()
        if x < 0.08:
            return "."  # sentence without a timestamp
        if x < 0.92:
            return " " + ts() + "."
        if x < 0.985:
            return " " + ts() + ", " + ts() + "."
        return " " + ts() + ", " + ts() + ", " + ts() + "."

    def paragraph(k: int) -> str:
        return " ".join([sentence() for _ in range(k)])

    vid = p.videos[p.video_of[i]][1]
    head = (
        "---\ntitle: " + p.title[i] + "\nvideoId: " + vid + "\n---\n\n"
        "From: [[" + p.channels[p.chan_of[i]] + "]] <br/> "
    )
    out = [head]
    n = len(head)
    # Intro: 1-2 paragraphs
    for _ in range(1 if rand() < 0.6 else 2):
        para = paragraph(randint(2, 4))
        out.append(para)
        n += len(para) + 2
        if pending:
            out.extend(pending)
            n += sum(len(e) + 2 for e in pending)
            pending.clear()

    # Every heading (h2 or h3) gets an equal share of the remaining byte
    # budget; blocks are added while the running total is below the
    # cumulative target (at least one block per heading).
    n_heads = len(hs)
    remaining = max(0, size - n)
    for k, (lvl, htext) in enumerate(hs):
        if rand() < 0.05:
            mk = _link(rng, p, i, cnt, False)[0]
            cnt.heading_links += 1
            htext = (htext + " and " + mk) if rand() < 0.5 else mk
        h = ("## " if lvl == 2 else "### ") + htext
        out.append(h)
        n += len(h) + 2
        goal = size - remaining + remaining * (k + 1) // n_heads
        first = True
        while first or n < goal:
            first = False
            x = rand()
            if x < 0.86:
                blk = paragraph(randint(1, 4))
            elif x < 0.96:
                sep = ("**: ", ":** ", "** ")[0 if rand() < 0.7 else (1 if rand() < 0.5 else 2)]
                items = []
                for _ in range(randint(2, 5)):
                    items.append("*   **" + bolds[randrange(nb)] + sep
                                 + " ".join([sentence() for _ in range(randint(1, 2))]))
                blk = "\n".join(items)
            else:
                kind = ("NOTE", "INFO", "TIP")[randrange(3)]
                blk = "> [!" + kind + "] " + paragraph(randint(1, 2))
            out.append(blk)
            n += len(blk) + 2
            if pending:
                out.extend(pending)
                n += sum(len(e) + 2 for e in pending)
                pending.clear()
    return "\n\n".join(out)


def _render_index(p: _Plan, c: int, cnt: _Counter) -> str:
    out = ["---\ntitle: " + p.channels[c] + "\n---"]
    groups = []
    for (vc, vid, vtitle, members) in p.videos:
        if vc != c:
            continue
        lines = ["### [" + vtitle + "](https://www.youtube.com/watch?v=" + vid + ")"]
        for nid in members:
            lines.append("- [[" + p.slug[nid] + " | " + p.title[nid] + "]]")
            cnt.links += 1
        groups.append("\n".join(lines))
    return out[0] + "\n" + "\n\n".join(groups)


def generate(out_dir: Path, notes: int, seed: int = 1, channels: int | None = None) -> dict:
    """Write a synthetic vault of ``notes`` notes (plus one index note per
    channel) into ``out_dir`` and return summary stats.

    Returned keys: notes, index_notes, files, channels, bytes, links (every
    ``[[...]]`` written, matching bench/floor.py's regex count), body_links,
    existing_links, title_form_links, missing_links, anchor_links, embeds,
    heading_links, from_links, index_links, timestamps, ts_relabelled,
    ts_empty, duplicate_slug_notes, seconds.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    p = _plan(notes, seed, channels)
    cnt = _Counter()
    total_bytes = 0
    index_links = 0
    for ch in p.channels:
        (out_dir / ch).mkdir(parents=True, exist_ok=True)
    for c, ch in enumerate(p.channels):
        before = cnt.links
        text = _render_index(p, c, cnt)
        index_links += cnt.links - before
        with open(os.path.join(out_dir, ch, ch + ".md"), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        total_bytes += len(text.encode("utf-8"))
    dirs = [os.path.join(out_dir, ch) for ch in p.channels]
    for i in range(notes):
        text = _render_note(p, i, seed, cnt)
        with open(os.path.join(dirs[p.chan_of[i]], p.slug[i] + ".md"), "w", encoding="utf-8",
                  newline="") as f:
            f.write(text)
        total_bytes += len(text.encode("utf-8"))
    body_links = cnt.links - index_links
    dup_notes = len({s for a, b in p.dups for s in (a, b)})
    return {
        "notes": notes,
        "index_notes": len(p.channels),
        "files": notes + len(p.channels),
        "channels": len(p.channels),
        "bytes": total_bytes,
        "links": cnt.links + notes,  # + one From: [[channel]] per note
        "body_links": body_links,
        "existing_links": cnt.existing,
        "title_form_links": cnt.title_form,
        "missing_links": cnt.missing,
        "anchor_links": cnt.anchor,
        "embeds": cnt.embed,
        "heading_links": cnt.heading_links,
        "from_links": notes,
        "index_links": index_links,
        "timestamps": cnt.timestamps,
        "ts_relabelled": cnt.ts_relabel,
        "ts_empty": cnt.ts_empty,
        "duplicate_slug_notes": dup_notes,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate a synthetic tubegraph-shaped Obsidian vault.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--channels", type=int, default=None,
                    help=f"default: notes/{NOTES_PER_CHANNEL}, at least 1")
    args = ap.parse_args(argv)
    if args.notes < 1:
        ap.error("--notes must be >= 1")
    stats = generate(args.out_dir, args.notes, args.seed, args.channels)
    width = max(len(k) for k in stats)
    for k, v in stats.items():
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
