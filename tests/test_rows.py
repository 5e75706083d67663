"""The stored layout of a note's rows: what is encoded reads back the same, in the bytes the
index has always stored (schema 3)."""

from __future__ import annotations

import json
import pickle
import re

from hypothesis import given
from hypothesis import strategies as st

from vaultsync.fs.vault import FileStat
from vaultsync.model import Timestamp, TimestampForm
from vaultsync.store.rows import (
    StoredLink,
    StoredTimestamp,
    decode_links,
    decode_timestamps,
    encode_ids,
    encode_links,
    encode_timestamps,
    link_counts_of,
    note_rows,
)
from vaultsync.text.parse import parse_note

texts = st.text(alphabet="ab é\"\\\n|#🎉", max_size=8)
links = st.builds(
    StoredLink,
    st.sampled_from(["wiki", "embed", "markdown", "markdown_embed", "frontmatter"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    texts,
    texts,
    st.none() | texts,
    st.none() | st.integers(1, 10**6),
    st.integers(0, 9),
)


@given(st.lists(links, max_size=6))
def test_links_read_back_as_written(stored):
    text = encode_links(stored)
    assert decode_links(text) == stored
    assert text == json.dumps([list(link) for link in stored], ensure_ascii=False)  # the bytes of schema 3


@given(st.lists(st.tuples(st.sampled_from(list(TimestampForm)), st.integers(0, 10**6), st.none() | st.integers(0, 10**5), st.none() | texts), max_size=6))
def test_timestamps_read_back_as_written(items):
    stamps = [Timestamp(form, (s, s + 5), sec, "l", None, vid) for form, s, sec, vid in items]
    back = decode_timestamps(encode_timestamps(stamps))
    assert back == [
        StoredTimestamp(t.span[0], t.span[1], t.seconds)
        if t.form is TimestampForm.HTML
        else StoredTimestamp(t.span[0], t.span[1], t.seconds, t.form.value, t.video_id)
        for t in stamps
    ]


@given(st.lists(st.integers(-(2**62), 2**62), max_size=20))
def test_ids_are_json_dumps(ids):
    assert encode_ids(ids) == json.dumps(ids)


def test_a_note_gives_its_rows():
    text = "---\ntitle: T\ntags: [x]\n---\n# H\n[[a]] ![[b|B]] [m](c.md) #t ^blk\n"
    targets = {"a": (7, 1, "a"), "b": (None, 0, "b"), "c.md": (8, 2, "c.md")}
    rows = note_rows(targets.__getitem__, 3, FileStat(1, 2, 3, 4), False, parse_note("n.md", text))
    stored = decode_links(rows.links)
    assert [(link.kind, link.target, link.dest) for link in stored] == [("wiki", "a", 7), ("embed", "b", None), ("markdown", "c.md", 8)]
    assert rows.link_counts == link_counts_of(stored) == (2, 1, 0, 1, 1)
    assert (list(rows.dests), list(rows.keys), json.loads(rows.missing or "[]")) == ([7, 8], ["a", "b", "c.md"], ["b"])
    assert [(r.tag, r.start) for r in rows.tags] == [("t", text.index("#t")), ("x", 0)]
    assert rows.title == "T" and json.loads(rows.headings or "[]") == [[1, "H", [text.index("# H"), text.index("# H") + 3]]]
    assert json.loads(rows.blocks or "[]") == [["blk", [text.index("^blk"), text.index("^blk") + 4]]]


ANCHORS = [
    '<a class="yt-timestamp" data-t="00:01:23">[00:01:23]</a>', '<a class="yt-timestamp" data-t="1:02">x</a>',
    '<a class="yt-timestamp" data-t="nope">[02:03]</a>', '<a class="yt-timestamp" data-t="nope">none</a>',
    '<a class="yt-timestamp" data-t="">[]</a>', '<a class="yt-timestamp" data-t="1:2">[</a>',
    '<a class="yt-timestamp" data-t="01:02" href="https://youtu.be/abc?t=62">[01:02]</a>',
    "<a class='yt-timestamp' data-t='3'>x</a>", '<a data-t="1:02">[1:02]</a>',
    "[00:05](https://www.youtube.com/watch?v=abc&t=5s)", "[t](https://youtu.be/abc?t=1m2s)",
    "[[x|<a class=\"yt-timestamp\" data-t=\"00:00:09\">[00:00:09]</a>]]", "`<a class=\"yt-timestamp\" data-t=\"1\">c</a>`",
    "\ufeff", " ", "\n", "é", "[[a]]", "<", '"', ">",
]


@given(st.lists(st.sampled_from(ANCHORS), max_size=12).map("".join))
def test_the_plain_anchors_rows_are_the_rows_of_their_timestamps(body):
    # ScannedTimestamps holds a plain anchor as its stored row and cuts its Timestamp on demand:
    # both must be what reading the anchor gives (the label and data-t as the anchor pattern reads them)
    stamps = parse_note("n.md", body).scan.timestamps
    assert encode_timestamps(stamps) == encode_timestamps(tuple(stamps))
    plain = re.compile(r'<a class="yt-timestamp" data-t="([^"<>]*)">(\[?[^<\[]*)</a>')
    for t in stamps:
        m = plain.fullmatch(body, *t.span)
        if t.form is TimestampForm.HTML and m is not None:
            assert (t.data_t, t.label) == m.groups()
    assert stamps == tuple(stamps) and len(stamps) == len(tuple(stamps))
    assert pickle.loads(pickle.dumps(stamps)) == stamps
