"""Bad input gets a warning naming the file, and the run goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import write_file

from vaultsync.fs.vault import MAX_NOTE_BYTES, Vault, WalkResult
from vaultsync.store.indexing import update_index

GOOD = "[[other]]\n"


def scan(root: Path):
    index, report = update_index(Vault(root), jobs=1)
    return index, report


def warnings_for(report) -> dict[str, str]:
    return {d.uri: d.code for d in report.diagnostics}


@pytest.mark.parametrize(
    "content, code",
    [
        ("---\ntitle: [unclosed\n---\n[[other]]\n", "frontmatter-invalid"),
        (b"caf\xe9 [[other]]\n", "unreadable"),
        (b"\x89PNG\x00\x00\x00binary[[other]]", "unreadable"),
    ],
    ids=["invalid-yaml", "not-utf8", "binary"],
)
def test_bad_note_is_reported_and_others_are_indexed(make_vault, content, code):
    root = make_vault({"bad.md": content, "good.md": GOOD, "other.md": "x"})
    index, report = scan(root)
    assert warnings_for(report).get("bad.md") == code
    assert index.links_from("good.md")[0]["dest"] == "other.md"
    assert report.counts["notes"] == 3


def test_invalid_yaml_note_still_has_its_body_links(make_vault):
    root = make_vault({"bad.md": "---\ntitle: [unclosed\n---\n[[other]]\n", "other.md": ""})
    index, _ = scan(root)
    assert index.links_from("bad.md")[0]["dest"] == "other.md"


def test_huge_note_is_skipped(make_vault):
    root = make_vault({"good.md": GOOD, "other.md": ""})
    write_file(root / "huge.md", b"[[other]] " * (MAX_NOTE_BYTES // 10 + 1))
    index, report = scan(root)
    assert warnings_for(report).get("huge.md") == "unreadable"
    assert index.note("huge.md")["error"].startswith("larger than")


def test_bidi_marks_in_folder_names(make_vault):
    folder = "\u2068cleo\u2069"
    root = make_vault({f"{folder}/{folder}.md": "index", "n.md": f"[[{folder}]]"})
    index, report = scan(root)
    assert not report.diagnostics
    assert index.links_from("n.md")[0]["dest"] == f"{folder}/{folder}.md"


def test_nfd_file_name_is_indexed_as_nfc(make_vault):
    root = make_vault({"cafe\u0301.md": "x", "n.md": "[[caf\u00e9]]"})
    index, _ = scan(root)
    assert index.links_from("n.md")[0]["dest"] == "caf\u00e9.md"


def test_symlink_loop_is_reported_once_and_skipped(make_vault):
    root = make_vault({"a/n.md": GOOD, "other.md": ""})
    os.symlink("..", root / "a" / "loop")
    os.symlink("missing-target.md", root / "dangling.md")
    index, report = scan(root)
    codes = warnings_for(report)
    assert codes.get("a/loop") == "symlink-loop"
    assert codes.get("dangling.md") == "broken-symlink"
    assert report.counts["notes"] == 2


class VanishingVault(Vault):
    """A real race: a note is deleted after the walk saw it and before it is read."""

    def walk(self, stat_files: bool = True) -> WalkResult:
        result = super().walk(stat_files)
        (self.root / "gone.md").unlink()
        return result


def test_file_vanishing_mid_run(make_vault):
    root = make_vault({"gone.md": GOOD, "good.md": GOOD, "other.md": ""})
    index, report = update_index(VanishingVault(root), jobs=1)
    assert warnings_for(report).get("gone.md") == "vanished"
    assert index.links_from("good.md")[0]["dest"] == "other.md"
    index.close()
    index, report = update_index(Vault(root), jobs=1)  # next run forgets it
    assert report.deleted == 1 and index.note("gone.md") is None


def test_unreadable_note_as_non_root(make_vault):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    root = make_vault({"locked.md": GOOD, "other.md": ""})
    (root / "locked.md").chmod(0)
    _, report = scan(root)
    assert warnings_for(report).get("locked.md") == "unreadable"
