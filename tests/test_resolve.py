"""Link resolution, table driven: every rule of Obsidian's ``getFirstLinkpathDest`` (OBSIDIAN.md 2.2),
the link-text cleaning in front of it (1.2, 1.3), the unresolved key (2.3), and which files are in
the name table at all (4: userIgnoreFilters, hidden paths).

Each table row is ``(files in the vault, linkpath, source note, expected destination or None)``.
The linkpath is given as the resolver receives it (already cleaned) unless the table says otherwise.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultsync.fs.appconfig import compile_ignore_filters
from vaultsync.fs.vault import Vault
from vaultsync.model import Link, LinkKind
from vaultsync.text.names import URIDecodeError, clean_string, decode_uri, split_subpath
from vaultsync.text.parse import frontmatter_aliases, parse_note
from vaultsync.text.resolve import NameTable, Resolution, unresolved_key
from vaultsync.text.scan import parse_wikilink_inner, scan_body


def dest(files: Iterable[str], linkpath: str, source: str) -> str | None:
    return NameTable(files).resolve(linkpath, source).dest


def row(files, linkpath, source, expected, id):  # noqa: A002 - pytest's name
    return pytest.param(list(files), linkpath, source, expected, id=id)


def write_vault(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


# ---------------------------------------------------------------------------------------------
# 2.2 rule 1 + 7: case-insensitive; ".md" optional; other extensions required
# ---------------------------------------------------------------------------------------------

CASE_AND_EXTENSION = [
    row(["Note.md"], "Note", "S.md", "Note.md", id="exact-name"),
    row(["Note.md"], "note", "S.md", "Note.md", id="lower-case-link"),
    row(["Note.md"], "NOTE", "S.md", "Note.md", id="upper-case-link"),
    row(["note.md"], "NoTe", "S.md", "note.md", id="mixed-case-link-lower-file"),
    row(["Sub/Note.md"], "sub/NOTE", "S.md", "Sub/Note.md", id="folder-part-case-insensitive"),
    row(["Note.md"], "Note.md", "S.md", "Note.md", id="explicit-md"),
    row(["Note.md"], "Note.MD", "S.md", "Note.md", id="explicit-MD-upper"),
    row(["Note.MD"], "Note", "S.md", "Note.MD", id="file-with-MD-extension-bare-link"),
    row(["Café.md"], "CAFÉ", "S.md", "Café.md", id="non-ascii-case-insensitive"),
    row(["Note.md"], "Notes", "S.md", None, id="different-name-unresolved"),
    row(["Note.md"], "Not", "S.md", None, id="prefix-of-name-unresolved"),
    row(["Note.md"], "Note.txt", "S.md", None, id="wrong-extension-unresolved"),
    row(["Note.md.md"], "Note.md", "S.md", "Note.md.md", id="md-appended-when-name-with-md-missing"),
    row(["Note.md", "Note.md.md"], "Note.md", "S.md", "Note.md", id="name-as-written-tried-first"),
    row(["Note.md", "Note.md.md"], "Note.md.md", "S.md", "Note.md.md", id="double-md-explicit"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", CASE_AND_EXTENSION)
def test_case_and_md_extension(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected


ATTACHMENTS_AND_DOTTED = [
    row(["img.png"], "img.png", "S.md", "img.png", id="attachment-with-extension"),
    row(["img.png"], "IMG.PNG", "S.md", "img.png", id="attachment-case-insensitive"),
    row(["img.png"], "img", "S.md", None, id="attachment-without-extension-unresolved"),
    row(["assets/img.png"], "img.png", "S.md", "assets/img.png", id="attachment-anywhere-in-vault"),
    row(["assets/img.png"], "assets/img.png", "S.md", "assets/img.png", id="attachment-with-folder"),
    row(["Doc.pdf", "Doc.md"], "Doc.pdf", "S.md", "Doc.pdf", id="pdf-vs-note-pdf-chosen"),
    row(["Doc.pdf", "Doc.md"], "Doc", "S.md", "Doc.md", id="pdf-vs-note-bare-chooses-note"),
    row(["img.png", "img.png.md"], "img.png", "S.md", "img.png", id="attachment-beats-note-named-img.png"),
    row(["img.png.md"], "img.png", "S.md", "img.png.md", id="note-named-img.png-when-no-attachment"),
    row(["v1.2 notes.md"], "v1.2 notes", "S.md", "v1.2 notes.md", id="dotted-name-gets-md"),
    row(["v1.2 notes.md"], "V1.2 NOTES", "S.md", "v1.2 notes.md", id="dotted-name-case-insensitive"),
    row(["Note.1.md"], "Note.1", "S.md", "Note.1.md", id="note-dot-1"),
    row(["Note.1"], "Note.1", "S.md", "Note.1", id="file-with-extension-1"),
    row(["Note.1", "Note.1.md"], "Note.1", "S.md", "Note.1", id="extension-1-file-beats-note-dot-1"),
    row(["Note.1.md"], "Note", "S.md", None, id="note-dot-1-not-found-by-Note"),
    row(["sub/v1.2 notes.md"], "sub/v1.2 notes", "S.md", "sub/v1.2 notes.md", id="dotted-name-in-folder"),
    row(["a.b/Note.md"], "a.b/Note", "S.md", "a.b/Note.md", id="dot-in-folder-only"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", ATTACHMENTS_AND_DOTTED)
def test_attachments_and_dotted_names(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected


# ---------------------------------------------------------------------------------------------
# 2.2 rule 2: a bare link finds a unique name anywhere
# ---------------------------------------------------------------------------------------------

BARE_UNIQUE = [
    row(["deep/down/here/Note.md"], "Note", "S.md", "deep/down/here/Note.md", id="from-root"),
    row(["deep/down/here/Note.md"], "Note", "other/S.md", "deep/down/here/Note.md", id="from-other-folder"),
    row(["a/Note.md"], "Note", "a/b/c/S.md", "a/Note.md", id="from-subfolder-of-target-folder"),
    row(["x/Note.md", "x/Other.md"], "Note", "y/S.md", "x/Note.md", id="other-names-irrelevant"),
    row(["Note.md"], "Note", "Note.md", "Note.md", id="link-to-itself-by-name"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", BARE_UNIQUE)
def test_bare_unique_name(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected


# ---------------------------------------------------------------------------------------------
# 2.2 rule 3 + 4: several files share the name
# ---------------------------------------------------------------------------------------------

DUPLICATES = [
    # (a) exact vault path wins
    row(["Note.md", "sub/Note.md"], "Note", "sub/S.md", "Note.md", id="exact-root-beats-same-folder"),
    row(["Note.md", "sub/Note.md"], "note", "sub/S.md", "Note.md", id="exact-root-case-insensitive"),
    row(["a/Note.md", "b/Note.md"], "b/Note", "a/S.md", "b/Note.md", id="exact-path-beats-same-folder"),
    # (b) same folder (string prefix of the source's folder)
    row(["a/Note.md", "b/Note.md"], "Note", "a/S.md", "a/Note.md", id="same-folder-a"),
    row(["a/Note.md", "b/Note.md"], "Note", "b/S.md", "b/Note.md", id="same-folder-b"),
    row(["A/Note.md", "b/Note.md"], "Note", "a/S.md", "A/Note.md", id="same-folder-case-insensitive"),
    row(["b/Note.md", "zzzz/very/long/folder/Note.md"], "Note", "zzzz/very/long/folder/S.md",
        "zzzz/very/long/folder/Note.md", id="same-folder-beats-shorter"),
    row(["a/deep/er/Note.md", "b/Note.md"], "Note", "a/S.md", "a/deep/er/Note.md",
        id="quirk-subfolder-of-source-counts-as-near"),
    row(["ab/long/path/Note.md", "c/Note.md"], "Note", "a/S.md", "ab/long/path/Note.md",
        id="quirk-prefix-named-sibling-counts-as-near"),
    row(["zzzz/Note.md", "b/Note.md"], "Note", "zzzz/deep/S.md", "b/Note.md",
        id="ancestor-folder-does-not-count"),
    # (c) shortest full path string inside each group
    row(["a/b/Note.md", "zzzz/Note.md"], "Note", "c/S.md", "a/b/Note.md", id="shortest-path-not-fewest-segments"),
    row(["a/b/Note.md", "zzzz/Note.md"], "Note", "S.md", "a/b/Note.md", id="root-source-shortest"),
    row(["a/x/y/Note.md", "a/xx/Note.md"], "Note", "a/S.md", "a/xx/Note.md", id="shortest-among-near"),
    row(["qq/Note.md", "a/x/y/Note.md"], "Note", "a/S.md", "a/x/y/Note.md", id="near-beats-shorter-far"),
    # source at the vault root: every candidate is near
    row(["sub/Note.md", "longer/path/Note.md"], "Note", "S.md", "sub/Note.md", id="root-source-all-near"),
    # (d) equal lengths: vaultsync sorts by vault path (Obsidian: load order, unspecified)
    row(["b/Note.md", "a/Note.md"], "Note", "c/S.md", "a/Note.md", id="tie-sorted-by-path-vaultsync-choice"),
    # same name in different case is the same key
    row(["a/note.md", "b/NOTE.md"], "Note", "b/S.md", "b/NOTE.md", id="case-variants-share-bucket"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", DUPLICATES)
def test_duplicate_names(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected


# ---------------------------------------------------------------------------------------------
# 2.2 rule 2 + 4: a folder-qualified link needs an exact path or a string suffix
# ---------------------------------------------------------------------------------------------

FOLDER_QUALIFIED = [
    row(["x/Note.md"], "wrong/Note", "S.md", None, id="wrong-folder-unique-name-unresolved"),
    row(["x/Note.md"], "x/Note", "S.md", "x/Note.md", id="right-folder"),
    row(["a/b/Note.md"], "b/Note", "S.md", "a/b/Note.md", id="path-suffix"),
    row(["xb/Note.md"], "b/Note", "S.md", "xb/Note.md", id="quirk-string-suffix-xb"),
    row(["a/b/Note.md", "xb/Note.md"], "b/Note", "S.md", "xb/Note.md", id="string-suffix-shortest-wins"),
    row(["a/b/Note.md", "xb/Note.md"], "b/Note", "a/S.md", "a/b/Note.md", id="string-suffix-near-wins"),
    row(["a/b/Note.md"], "a/Note", "S.md", None, id="not-a-subsequence-match"),
    row(["a/b/Note.md"], "a/b/c/Note", "S.md", None, id="longer-than-path-unresolved"),
    row(["Note.md", "x/Note.md"], "y/Note", "S.md", None, id="duplicates-wrong-folder-unresolved"),
    row(["x/y/Note.md"], "X/Y/note", "S.md", "x/y/Note.md", id="folder-case-insensitive"),
    row(["x/Note.md", "x/y/Note.md"], "x/Note", "x/y/S.md", "x/Note.md", id="exact-beats-near-suffix"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", FOLDER_QUALIFIED)
def test_folder_qualified(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected


# ---------------------------------------------------------------------------------------------
# 2.2 rule 5: ./ and ../ relative to the source folder
# ---------------------------------------------------------------------------------------------

RELATIVE = [
    row(["a/Note.md", "b/Note.md"], "./Note", "a/S.md", "a/Note.md", id="dot-slash-same-folder"),
    row(["a/Note.md", "b/Note.md"], "./Note", "b/S.md", "b/Note.md", id="dot-slash-other-copy"),
    row(["Note.md", "a/Note.md"], "./Note", "a/S.md", "a/Note.md", id="dot-slash-beats-root-exact"),
    row(["a/sub/Note.md", "Note.md"], "./sub/Note", "a/S.md", "a/sub/Note.md", id="dot-slash-into-subfolder"),
    row(["Note.md", "a/Note.md"], "../Note", "a/S.md", "Note.md", id="dot-dot-to-root"),
    row(["a/Note.md", "a/b/Note.md"], "../Note", "a/b/S.md", "a/Note.md", id="dot-dot-one-up"),
    row(["a/Note.md", "a/b/Note.md"], "./../Note", "a/b/S.md", "a/Note.md", id="dot-slash-dot-dot"),
    row(["Note.md", "a/b/Note.md"], "../../Note", "a/b/S.md", "Note.md", id="dot-dot-twice"),
    row(["Note.md", "a/Note.md"], "../../../Note", "a/S.md", "Note.md", id="dot-dot-past-root-clamps"),
    row(["a/x/Note.md", "b/x/Note.md"], "../x/Note", "b/c/S.md", "b/x/Note.md", id="dot-dot-then-folder"),
    row(["elsewhere/Missing.md", "a/Other.md"], "./Missing", "a/S.md", None,
        id="dot-slash-from-subfolder-no-vault-wide-fallback"),
    row(["elsewhere/Missing.md", "a/b/Other.md"], "../Missing", "a/b/S.md", None,
        id="dot-dot-no-vault-wide-fallback"),
    row(["elsewhere/Missing.md"], "./Missing", "S.md", "elsewhere/Missing.md",
        id="dot-slash-from-root-degenerates-to-basename"),
    row(["xa/Note.md"], "./Note", "a/S.md", "xa/Note.md", id="quirk-dot-slash-falls-through-to-string-suffix"),
    # "./" mutates the source folder to "a/", so the prefix-named sibling "ab/" is no longer near,
    # while the same link without "./" keeps it near.
    row(["ab/a/Note.md", "a/xx/a/Note.md"], "./Note", "a/S.md", "a/xx/a/Note.md",
        id="quirk-dot-slash-adds-slash-to-near-prefix"),
    row(["ab/a/Note.md", "a/xx/a/Note.md"], "a/Note", "a/S.md", "ab/a/Note.md",
        id="quirk-without-dot-slash-prefix-sibling-near"),
    row(["a/img.png", "b/img.png"], "./img.png", "b/S.md", "b/img.png", id="dot-slash-attachment"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", RELATIVE)
def test_relative_links(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected


# ---------------------------------------------------------------------------------------------
# 2.2 rule 6: a leading "/" is an exact vault path only
# ---------------------------------------------------------------------------------------------

ABSOLUTE = [
    row(["Note.md"], "/Note", "S.md", "Note.md", id="root-file"),
    row(["Note.md"], "/note.md", "a/S.md", "Note.md", id="root-file-case-and-md"),
    row(["sub/Note.md"], "/Note", "S.md", None, id="unique-name-elsewhere-unresolved"),
    row(["sub/Note.md"], "/sub/Note", "S.md", "sub/Note.md", id="full-path"),
    row(["a/sub/Note.md"], "/sub/Note", "S.md", None, id="no-suffix-match"),
    row(["Note.md", "sub/Note.md"], "/sub/Note", "S.md", "sub/Note.md", id="duplicates-full-path"),
    row(["x/Note.md", "sub/Note.md"], "/Note", "sub/S.md", None, id="duplicates-no-same-folder-fallback"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", ABSOLUTE)
def test_leading_slash_exact_only(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected


# ---------------------------------------------------------------------------------------------
# 2.2 / 2.3: empty linkpath = the note itself ([[#Heading]], [x](#Heading))
# ---------------------------------------------------------------------------------------------

SELF = [
    row(["S.md"], "", "S.md", "S.md", id="root-note"),
    row(["a/S.md", "S.md"], "", "a/S.md", "a/S.md", id="note-in-folder"),
    row([], "", "a/S.md", "a/S.md", id="even-when-table-empty"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", SELF)
def test_empty_linkpath_is_self(files, linkpath, source, expected):
    assert dest(files, linkpath, source) == expected
    assert NameTable(files).linkpath_dests(linkpath, source) == [source]


@pytest.mark.parametrize(
    "text, source, expected",
    [
        pytest.param("[[#Heading]]", "a/S.md", "a/S.md", id="wikilink-heading"),
        pytest.param("[[#^block]]", "a/S.md", "a/S.md", id="wikilink-block"),
        pytest.param("[x](#Heading)", "a/S.md", "a/S.md", id="markdown-heading"),
    ],
)
def test_self_links_from_text(text, source, expected):
    (link,) = scan_body(text).links
    assert link.target == ""
    assert NameTable(["a/S.md", "S.md"]).resolve(link.target, source).dest == expected


# ---------------------------------------------------------------------------------------------
# Candidates count and full ordering (getLinkpathDest)
# ---------------------------------------------------------------------------------------------

DESTS_ORDER = [
    row(["a/Note.md", "b/Note.md", "a/x/Note.md"], "Note", "a/S.md", ["a/Note.md", "a/x/Note.md", "b/Note.md"],
        id="near-by-length-then-far"),
    row(["Note.md", "b/Note.md"], "Note", "b/S.md", ["Note.md"], id="exact-match-alone"),
    row(["x/Note.md"], "wrong/Note", "S.md", [], id="unresolved-empty"),
    row(["c/Note.md", "b/Note.md", "a/Note.md"], "Note", "z/S.md", ["a/Note.md", "b/Note.md", "c/Note.md"],
        id="equal-lengths-sorted"),
]


@pytest.mark.parametrize("files, linkpath, source, expected", DESTS_ORDER)
def test_linkpath_dests_order(files, linkpath, source, expected):
    assert NameTable(files).linkpath_dests(linkpath, source) == expected


@pytest.mark.parametrize(
    "files, linkpath, expected",
    [
        pytest.param(["Note.md"], "Note", Resolution("Note.md", 1), id="unique"),
        pytest.param(["Note.md", "a/Note.md"], "Note", Resolution("Note.md", 2), id="ambiguous-exact"),
        pytest.param(["x/Note.md", "y/Note.md"], "z/Note", Resolution(None, 2), id="ambiguous-unresolved"),
        pytest.param(["Other.md"], "Note", Resolution(None, 0), id="no-candidates"),
        pytest.param(["img.png"], "img", Resolution(None, 0), id="attachment-needs-extension"),
    ],
)
def test_resolution_candidates(files, linkpath, expected):
    got = NameTable(files).resolve(linkpath, "S.md")
    assert got == expected
    assert got.ambiguous == (expected.candidates > 1)


# ---------------------------------------------------------------------------------------------
# Lower-casing: Obsidian lower-cases (linkpath + ".md") as one string
# ---------------------------------------------------------------------------------------------


def test_final_sigma_link_finds_note():
    assert dest(["ΟΔΟΣ.md"], "ΟΔΟΣ", "S.md") == "ΟΔΟΣ.md"


def test_final_sigma_explicit_md_resolves():
    assert dest(["ΟΔΟΣ.md"], "ΟΔΟΣ.md", "S.md") == "ΟΔΟΣ.md"


# ---------------------------------------------------------------------------------------------
# 2.2 rule 8: aliases never resolve
# ---------------------------------------------------------------------------------------------


def test_aliases_are_not_link_targets():
    target = parse_note("Target.md", "---\naliases: [Nickname, Other Name]\n---\nBody\n")
    assert frontmatter_aliases(target.frontmatter.data) == ["Nickname", "Other Name"]
    source = parse_note("S.md", "See [[Nickname]] and [[Other Name|x]] and [[Target]].\n")
    table = NameTable(["Target.md", "S.md"])
    got = [table.resolve(link.target, "S.md").dest for link in source.scan.links]
    assert got == [None, None, "Target.md"]
    assert "nickname.md" not in set(table.names())


# ---------------------------------------------------------------------------------------------
# 1.2: wikilink text cleaning (trim, NBSP, NFC, subpath, alias, table pipe) then resolution
# ---------------------------------------------------------------------------------------------

NFD_CAFE = unicodedata.normalize("NFD", "Café")
WIKI_TEXT = [
    pytest.param(["Café.md"], "Café", "Café.md", id="nfc-link-nfc-file"),
    pytest.param(["Café.md"], NFD_CAFE, "Café.md", id="nfd-link-nfc-file"),
    pytest.param(["Café.md"], NFD_CAFE.upper(), "Café.md", id="nfd-upper-link"),
    pytest.param(["My Note.md"], "My\u00a0Note", "My Note.md", id="nbsp-inside"),
    pytest.param(["My Note.md"], "\u00a0My Note\u00a0", "My Note.md", id="nbsp-around"),
    pytest.param(["My Note.md"], "  My Note  ", "My Note.md", id="spaces-around"),
    pytest.param(["My Note.md"], " My Note | alias ", "My Note.md", id="spaces-around-pipe"),
    pytest.param(["My Note.md"], "My\u00a0Note#Heading", "My Note.md", id="nbsp-with-subpath"),
    pytest.param(["My Note.md"], "My Note\\|alias", "My Note.md", id="table-escaped-pipe"),
    pytest.param(["Note.md"], "Note#H1#H2", "Note.md", id="subpath-split-at-first-hash"),
    pytest.param(["Note.md"], "Note|a|b", "Note.md", id="alias-split-at-first-pipe"),
    pytest.param(["Sq]uare.md"], "Sq]uare", "Sq]uare.md", id="single-bracket-in-name"),
    pytest.param(["Note.md"], "|Note", None, id="leading-pipe-is-part-of-target"),
    pytest.param(["My Note.md"], "My  Note", None, id="inner-double-space-kept"),
]


@pytest.mark.parametrize("files, inner, expected", WIKI_TEXT)
def test_wikilink_text_then_resolve(files, inner, expected):
    parsed = parse_wikilink_inner(inner)
    assert parsed is not None
    path, _subpath, _display = parsed
    assert dest(files, path, "S.md") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(f"[[{NFD_CAFE}]]", "Café.md", id="wikilink-nfd"),
        pytest.param("[[My\u00a0Note]]", "My Note.md", id="wikilink-nbsp"),
        pytest.param(f"![[{NFD_CAFE}.md]]", "Café.md", id="embed-nfd"),
        pytest.param("[x](Cafe%CC%81.md)", "Café.md", id="markdown-nfd-escapes"),
        pytest.param("[x](Caf%C3%A9.md)", "Café.md", id="markdown-nfc-escapes"),
        pytest.param(f"[x]({NFD_CAFE}.md)", "Café.md", id="markdown-raw-nfd"),
    ],
)
def test_scanned_text_is_nfc_before_resolution(text, expected):
    (link,) = scan_body(text).links
    assert link.target == unicodedata.normalize("NFC", link.target)
    assert dest(["Café.md", "My Note.md"], link.target, "S.md") == expected


def test_empty_wikilink_is_no_link():
    assert parse_wikilink_inner("   ") is None
    assert scan_body("[[]] [[ ]]").links == ()


def test_zwnbsp_is_trimmed_like_js():
    parsed = parse_wikilink_inner("\ufeffNote")
    assert parsed is not None
    assert dest(["Note.md"], parsed[0], "S.md") == "Note.md"


# ---------------------------------------------------------------------------------------------
# 1.3: markdown link destinations (decodeURI, then the same vault-wide resolver)
# ---------------------------------------------------------------------------------------------

DECODE_URI = [
    pytest.param("My%20Note.md", "My Note.md", id="space"),
    pytest.param("Caf%C3%A9", "Café", id="utf8-2-bytes"),
    pytest.param("%E2%82%AC", "€", id="utf8-3-bytes"),
    pytest.param("%F0%9F%98%80", "😀", id="utf8-4-bytes"),
    pytest.param("a%23b", "a%23b", id="hash-stays-encoded"),
    pytest.param("a%2Fb", "a%2Fb", id="slash-stays-encoded"),
    pytest.param("a%2fb", "a%2fb", id="slash-lower-hex-stays-encoded"),
    pytest.param("a%3Fb", "a%3Fb", id="question-stays-encoded"),
    pytest.param("a%3Ab", "a%3Ab", id="colon-stays-encoded"),
    pytest.param("100%25", "100%", id="percent-decoded"),
    pytest.param("%41%42", "AB", id="unreserved-decoded"),
    pytest.param("plain", "plain", id="no-escapes"),
]


@pytest.mark.parametrize("text, expected", DECODE_URI)
def test_decode_uri(text, expected):
    assert decode_uri(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("100%", id="lone-percent"),
        pytest.param("%4", id="truncated-escape"),
        pytest.param("%zz", id="non-hex"),
        pytest.param("%E9", id="latin1-byte"),
        pytest.param("%C3", id="truncated-utf8"),
        pytest.param("%C3%41", id="bad-continuation"),
        pytest.param("%C0%80", id="overlong"),
        pytest.param("%ED%A0%80", id="surrogate"),
        pytest.param("%F4%90%80%80", id="above-max-code-point"),
    ],
)
def test_decode_uri_throws(text):
    with pytest.raises(URIDecodeError):
        decode_uri(text)


MD_FILES = ["Sub/My Note.md", "Note.md", "a%23b.md", "Q%3F.md", "a/b.md", "img.png", "100%.md", "Café.md"]
MARKDOWN_LINKS = [
    pytest.param("[y](My%20Note.md)", "S.md", "My Note.md", "Sub/My Note.md", id="encoded-space-vault-wide"),
    pytest.param("[y](My%20Note)", "S.md", "My Note", "Sub/My Note.md", id="encoded-space-no-md"),
    pytest.param("[y](<My Note.md>)", "S.md", "My Note.md", "Sub/My Note.md", id="angle-brackets"),
    pytest.param("[y](Note.md#Heading)", "S.md", "Note.md", "Note.md", id="subpath-split"),
    pytest.param("[y](a%23b.md)", "S.md", "a%23b.md", "a%23b.md", id="percent-23-not-a-subpath"),
    pytest.param("[y](Q%3F.md)", "S.md", "Q%3F.md", "Q%3F.md", id="percent-3F-literal"),
    pytest.param("[y](a%2Fb.md)", "S.md", "a%2Fb.md", None, id="percent-2F-not-a-folder"),
    pytest.param("[y](a/b.md)", "S.md", "a/b.md", "a/b.md", id="real-folder"),
    pytest.param("![y](img.png)", "S.md", "img.png", "img.png", id="image-embed"),
    pytest.param("[y](100%25.md)", "S.md", "100%.md", "100%.md", id="percent-25-decoded"),
    pytest.param("[y](./Note.md)", "x/S.md", "./Note.md", None, id="dot-slash-relative-to-source"),
    pytest.param("[y](../Note.md)", "x/S.md", "../Note.md", "Note.md", id="dot-dot-relative-to-source"),
]


@pytest.mark.parametrize("text, source, target, expected", MARKDOWN_LINKS)
def test_markdown_link_destinations(text, source, target, expected):
    (link,) = scan_body(text).links
    assert link.kind in (LinkKind.MARKDOWN, LinkKind.MARKDOWN_EMBED)
    assert link.target == target
    assert dest(MD_FILES, link.target, source) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[y](100%.md)", id="lone-percent"),
        pytest.param("[y](%E9t%E9.md)", id="latin1-escapes"),
        pytest.param("[y](a%C3.md)", id="truncated-utf8"),
        pytest.param("[y](%zz.md)", id="malformed-escape"),
        pytest.param("![y](bad%.png)", id="image-lone-percent"),
        pytest.param("[y](https://example.com/Note.md)", id="external-url"),
        pytest.param("[y]()", id="empty-destination"),
    ],
)
def test_markdown_link_not_internal(text):
    assert scan_body(text).links == ()


def test_markdown_link_next_to_inline_html():
    # regression: scan.py once raised NameError (_HTML_TAG undefined) on any inline HTML tag
    links = scan_body("<b>bold</b> [y](My%20Note.md) [[Note]]").links
    assert [link.target for link in links] == ["My Note.md", "Note"]


# ---------------------------------------------------------------------------------------------
# 2.3: the key of an unresolved link
# ---------------------------------------------------------------------------------------------

UNRESOLVED_KEYS = [
    pytest.param("Missing", "Missing", id="bare"),
    pytest.param("Missing.md", "Missing", id="md-stripped"),
    pytest.param("Folder/Missing.md", "Folder/Missing", id="folder-kept"),
    pytest.param("Folder/Missing", "Folder/Missing", id="folder-no-md"),
    pytest.param("MiSsInG", "MiSsInG", id="case-kept"),
    pytest.param("Missing.md.md", "Missing.md", id="only-one-md-stripped"),
    pytest.param("img.png", "img.png", id="other-extension-kept"),
    pytest.param("Note.mdx", "Note.mdx", id="mdx-kept"),
    pytest.param("Notes.md/x", "Notes.md/x", id="md-in-folder-kept"),
    pytest.param("Readme-md", "Readme-md", id="md-without-dot-kept"),
    pytest.param("v1.2 notes", "v1.2 notes", id="dotted-kept"),
]


@pytest.mark.parametrize("linkpath, expected", UNRESOLVED_KEYS)
def test_unresolved_key(linkpath, expected):
    assert unresolved_key(linkpath) == expected


# ---------------------------------------------------------------------------------------------
# NameTable.add / remove keep results consistent with a table built from scratch
# ---------------------------------------------------------------------------------------------

TABLE_UPDATES = [
    # (initial files, operations, linkpath, source, expected before, expected after)
    pytest.param(["b/Note.md"], [("add", "a/Note.md")], "Note", "a/S.md", "b/Note.md", "a/Note.md",
                 id="add-closer-copy-takes-over"),
    pytest.param(["a/Note.md"], [("add", "Note.md")], "Note", "a/S.md", "a/Note.md", "Note.md",
                 id="add-root-copy-exact-wins"),
    pytest.param(["a/Note.md", "b/Note.md"], [("remove", "a/Note.md")], "Note", "a/S.md", "a/Note.md", "b/Note.md",
                 id="remove-near-falls-back-to-far"),
    pytest.param(["x/Note.md"], [("remove", "x/Note.md")], "Note", "S.md", "x/Note.md", None,
                 id="remove-last-unresolves"),
    pytest.param(["x/Note.md"], [("add", "y/Note.md")], "Note", "S.md", "x/Note.md", "x/Note.md",
                 id="add-longer-copy-from-root-keeps"),
    pytest.param(["c/Note.md"], [("add", "b/Note.md"), ("add", "a/Note.md")], "Note", "z/S.md", "c/Note.md",
                 "a/Note.md", id="adds-keep-sorted-tie-order"),
    pytest.param(["x/Note.md"], [("add", "x/Note.md")], "Note", "S.md", "x/Note.md", "x/Note.md",
                 id="add-twice-no-duplicate"),
    pytest.param(["x/Note.md"], [("remove", "y/Note.md"), ("remove", "Other.md")], "Note", "S.md", "x/Note.md",
                 "x/Note.md", id="remove-absent-is-noop"),
    pytest.param(["x/Note.md"], [("remove", "x/Note.md"), ("add", "y/Note.md")], "Note", "S.md", "x/Note.md",
                 "y/Note.md", id="move-by-remove-add"),
]


@pytest.mark.parametrize("files, ops, linkpath, source, before, after", TABLE_UPDATES)
def test_name_table_updates(files, ops, linkpath, source, before, after):
    table = NameTable(files)
    assert table.resolve(linkpath, source).dest == before
    current = set(files)
    for op, uri in ops:
        getattr(table, op)(uri)
        (current.add if op == "add" else current.discard)(uri)
    assert table.resolve(linkpath, source).dest == after
    fresh = NameTable(current)
    assert table.linkpath_dests(linkpath, source) == fresh.linkpath_dests(linkpath, source)
    assert table.resolve(linkpath, source) == fresh.resolve(linkpath, source)
    assert len(table) == len(current)
    assert all(uri in table for uri in current)


def test_name_table_insertion_order_irrelevant():
    files = ["c/Note.md", "a/b/Note.md", "Note.md", "ab/Note.md", "a/Note.md", "xb/Note.md"]
    built = NameTable(files)
    incremental = NameTable()
    for uri in reversed(files):
        incremental.add(uri)
    for link in ["Note", "b/Note", "./Note", "../Note", "/a/Note"]:
        for source in ["S.md", "a/S.md", "a/b/S.md", "ab/S.md", "z/S.md"]:
            assert incremental.linkpath_dests(link, source) == built.linkpath_dests(link, source), (link, source)


# ---------------------------------------------------------------------------------------------
# 4: userIgnoreFilters
# ---------------------------------------------------------------------------------------------

IGNORE_FILTERS = [
    pytest.param(["Archive"], "Archive/Old.md", True, id="prefix-folder"),
    pytest.param(["Archive"], "Archive2.md", True, id="prefix-also-sibling-name"),
    pytest.param(["Archive"], "archive/old.md", True, id="prefix-case-insensitive"),
    pytest.param(["Archive/"], "Archive2.md", False, id="trailing-slash-folder-only"),
    pytest.param(["Archive/"], "ARCHIVE/x.md", True, id="trailing-slash-case-insensitive"),
    pytest.param(["Archive"], "notes/Archive/x.md", False, id="prefix-anchored-at-root"),
    pytest.param(["  Archive  "], "Archive/x.md", True, id="trimmed"),
    pytest.param(["a.b"], "axb.md", False, id="prefix-is-literal-not-regex"),
    pytest.param(["a.b"], "a.b/x.md", True, id="prefix-literal-dot"),
    pytest.param(["/secret/"], "notes/Top SECRET.md", True, id="regex-anywhere-case-insensitive"),
    pytest.param(["/^tmp\\d+/"], "tmp42/x.md", True, id="regex-anchored-match"),
    pytest.param(["/^tmp\\d+/"], "a/tmp42/x.md", False, id="regex-anchored-no-match"),
    pytest.param(["/\\.png$/"], "assets/img.PNG", True, id="regex-extension"),
    pytest.param(["//"], "//y.md", True, id="two-slashes-is-a-prefix-not-regex"),
    pytest.param(["//"], "a.md", False, id="two-slashes-prefix-no-match"),
    pytest.param([""], "a.md", False, id="empty-filter-ignored"),
    pytest.param(["/[unclosed/"], "[unclosed.md", False, id="invalid-regex-ignored"),
    pytest.param(["Archive", "/secret/"], "Secret/x.md", True, id="several-filters-any"),
    pytest.param([], "Archive/x.md", False, id="no-filters"),
]


@pytest.mark.parametrize("filters, uri, excluded", IGNORE_FILTERS)
def test_compile_ignore_filters(filters, uri, excluded):
    patterns = compile_ignore_filters(tuple(filters))
    assert any(p.search(uri) for p in patterns) == excluded


VAULT_FILES = {
    ".obsidian/app.json": json.dumps({"userIgnoreFilters": ["Archive", "/secret/"]}),
    ".obsidian/Config Note.md": "hidden",
    ".trash/Trashed.md": "hidden",
    ".git/Gitnote.md": "hidden",
    "folder/.hidden.md": "hidden",
    "folder/.dotdir/Inner.md": "hidden",
    "folder/Visible.md": "[[Old]] [[Archive2]] [[Top Secret]] [[Trashed]]",
    "Archive/Old.md": "[[Visible]]",
    "Archive2.md": "",
    "notes/Top Secret.md": "",
    "Note.md": "",
    ".trash/Note.md": "shadow copy",
}


@pytest.fixture
def disk_vault(tmp_path: Path) -> Vault:
    return Vault(write_vault(tmp_path / "vault", VAULT_FILES))


def test_walk_skips_hidden_entries(disk_vault: Vault):
    walked = set(disk_vault.walk().files)
    assert walked == {"folder/Visible.md", "Archive/Old.md", "Archive2.md", "notes/Top Secret.md", "Note.md"}


@pytest.mark.parametrize(
    "uri, excluded",
    [
        pytest.param("Archive/Old.md", True, id="prefix-folder"),
        pytest.param("Archive2.md", True, id="prefix-sibling"),
        pytest.param("notes/Top Secret.md", True, id="regex-case-insensitive"),
        pytest.param("folder/Visible.md", False, id="not-matched"),
        pytest.param("Note.md", False, id="root-note"),
    ],
)
def test_vault_is_excluded(disk_vault: Vault, uri, excluded):
    assert disk_vault.app.user_ignore_filters == ("Archive", "/secret/")
    assert disk_vault.is_excluded(uri) == excluded


VAULT_LINKS = [
    pytest.param("Old", "Archive/Old.md", id="excluded-prefix-folder-still-resolves"),
    pytest.param("Archive2", "Archive2.md", id="excluded-prefix-sibling-still-resolves"),
    pytest.param("Top Secret", "notes/Top Secret.md", id="excluded-regex-still-resolves"),
    pytest.param("Note", "Note.md", id="hidden-copy-does-not-make-it-ambiguous"),
    pytest.param("Config Note", None, id="dot-obsidian-not-a-target"),
    pytest.param(".obsidian/Config Note", None, id="dot-obsidian-by-path-not-a-target"),
    pytest.param("Trashed", None, id="dot-trash-not-a-target"),
    pytest.param("Gitnote", None, id="dot-git-not-a-target"),
    pytest.param(".hidden", None, id="hidden-file-not-a-target"),
    pytest.param("folder/.hidden", None, id="hidden-file-by-path-not-a-target"),
    pytest.param("Inner", None, id="file-in-hidden-subfolder-not-a-target"),
    pytest.param("app.json", None, id="config-file-not-a-target"),
]


@pytest.mark.parametrize("linkpath, expected", VAULT_LINKS)
def test_vault_walk_name_table(disk_vault: Vault, linkpath, expected):
    table = NameTable(disk_vault.walk().files)
    resolution = table.resolve(linkpath, "folder/Visible.md")
    assert resolution.dest == expected
    if linkpath == "Note":
        assert not resolution.ambiguous


def test_vault_links_from_excluded_note_resolve(disk_vault: Vault):
    """Excluded notes are still parsed and their links resolved."""
    table = NameTable(disk_vault.walk().files)
    note = parse_note("Archive/Old.md", disk_vault.read_text("Archive/Old.md"))
    assert [table.resolve(link.target, "Archive/Old.md").dest for link in note.scan.links] == ["folder/Visible.md"]


@pytest.mark.skipif(os.uname().sysname == "Darwin", reason="macOS file systems normalize names themselves")
def test_vault_nfd_file_name_is_nfc_uri(tmp_path: Path):
    root = write_vault(tmp_path / "vault", {unicodedata.normalize("NFD", "Café.md"): "x", "S.md": ""})
    vault = Vault(root)
    table = NameTable(vault.walk().files)
    assert "Café.md" in table
    (link,) = scan_body(f"[[{NFD_CAFE}]]").links
    assert table.resolve(link.target, "S.md").dest == "Café.md"
    assert vault.read_text("Café.md") == "x"


# ---------------------------------------------------------------------------------------------
# Properties: resolution ignores the case and the normal form of the link text
# ---------------------------------------------------------------------------------------------

# Letters whose single-character upper/lower forms round-trip (no ß -> SS, no final sigma).
_LETTERS = "aAbBeEnNoOzZéÉèÈäÄöÖñÑçÇåÅ"
_name = st.text(alphabet=_LETTERS + " .-", min_size=1, max_size=6).filter(
    lambda s: s.strip(" .") == s and s and not s.endswith(".md")
)
_folder = st.sampled_from(["", "a/", "ab/", "a/b/", "Éé/", "zz/a/"])
_files = st.lists(st.tuples(_folder, _name, st.sampled_from([".md", ".md", ".png"])), min_size=1, max_size=6)


def _swap_case(text: str, mask: list[bool]) -> str:
    out = []
    for ch, flip in zip(text, mask + [False] * len(text)):
        other = ch.upper() if ch.islower() else ch.lower()
        out.append(other if flip and len(other) == 1 else ch)
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(
    files=_files,
    pick=st.integers(min_value=0),
    prefix=st.sampled_from(["", "./", "../", "/", "a/", "b/"]),
    keep_folder=st.booleans(),
    add_ext=st.booleans(),
    source=st.sampled_from(["S.md", "a/S.md", "ab/S.md", "a/b/S.md", "Éé/S.md"]),
    mask=st.lists(st.booleans(), max_size=30),
    form=st.sampled_from(["NFC", "NFD"]),
)
def test_resolution_invariant_under_case_and_normal_form(
    files, pick, prefix, keep_folder, add_ext, source, mask, form
):
    uris = sorted({unicodedata.normalize("NFC", f + n + e) for f, n, e in files})
    table = NameTable(uris)
    folder, name, ext = files[pick % len(files)]
    link = prefix + (folder if keep_folder else "") + name + (ext if add_ext or ext != ".md" else "")
    link = unicodedata.normalize("NFC", link)
    baseline = table.linkpath_dests(clean_string(link), source)

    variant = unicodedata.normalize(form, _swap_case(link, mask))
    assert table.linkpath_dests(clean_string(variant), source) == baseline
    assert table.resolve(clean_string(variant), source) == table.resolve(clean_string(link), source)

    parsed = parse_wikilink_inner(variant)
    assert parsed is not None
    assert table.linkpath_dests(parsed[0], source) == baseline
    if not prefix and keep_folder and "." not in name:
        # a full vault path always finds its own file
        assert baseline and baseline[0].lower() == (folder + name + ext).lower()


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="aéÉ\u0301e \u00a0#|", max_size=12))
def test_clean_string_is_idempotent_nfc(text):
    once = clean_string(text)
    assert clean_string(once) == once
    assert once == unicodedata.normalize("NFC", once)
    assert "\u00a0" not in once
    assert clean_string(unicodedata.normalize("NFD", text)) == once


def test_split_subpath_keeps_hash():
    assert split_subpath("Note#A#B") == ("Note", "#A#B")
    assert split_subpath("Note") == ("Note", "")
    assert split_subpath("#H") == ("", "#H")


def test_link_model_default_fields():
    assert Link(LinkKind.WIKI, (0, 1), "x") == Link(LinkKind.WIKI, (0, 1), "x", "", None)


FILES = ["a.md", "x/a.md", "x/y/a.md", "b.md", "x/b.png", "c.png", "x/y/c.md", "ab/d.md", "a/d.md", "e.MD"]
TARGETS = ["a", "A", "a.md", "x/a", "y/a", "/a", "/x/a", "./a", "../a", "./../a", "b", "b.png", "c", "c.png",
           "d", "ab/d", "e", "e.md", "missing", "x/missing", "./missing", "./b", "../c", "./x/y/c", "/c", "y/c"]  # fmt: skip
FOLDERS = ["", "x", "x/y", "ab", "a", "z"]


@given(st.sampled_from(TARGETS))
def test_a_resolution_said_to_be_the_same_from_every_folder_is(target):
    """LinkResolver shares one memo entry across folders when same_from_every_folder says so."""
    table = NameTable(FILES)
    answers = {table.lookup(target, f"{folder}/n.md" if folder else "n.md") for folder in FOLDERS}
    dest, count = next(iter(answers))
    if NameTable.same_from_every_folder(target, count):
        assert len(answers) == 1, answers
