"""End-to-end tests through the real `vaultsync` command, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_VAULT

SCAN_KEYS = ("notes", "links", "resolved", "unresolved", "ambiguous", "embeds", "timestamps", "files_read")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vaultsync", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_scan_json_is_one_object_with_the_documented_keys(sample_vault):
    result = run("scan", str(sample_vault), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON document: loads fails on anything extra
    for key in SCAN_KEYS:
        assert isinstance(data[key], int), key
    assert isinstance(data["seconds"], float | int)
    assert data["resolved"] + data["unresolved"] == data["links"]


def test_sample_vault_counts_match_the_hand_count(sample_vault):
    """Counted by hand in tests/testdata/sample_vault_cases.md, following OBSIDIAN.md."""
    data = json.loads(run("scan", str(sample_vault), "--json").stdout)
    assert data["notes"] == 28
    assert data["links"] == 132
    assert data["embeds"] == 3
    assert (data["resolved"], data["unresolved"]) == (112, 20)
    assert data["ambiguous"] == 5  # the [[overview]] family: two files share that name
    assert data["timestamps"] == 188
    again = json.loads(run("scan", str(sample_vault), "--json").stdout)
    assert again["files_read"] == 0 and again["links"] == 132


def test_default_vault_is_the_bundled_one(tmp_path):
    result = run("scan", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["notes"] == 28
    assert (SAMPLE_VAULT / ".vaultsync" / "index.sqlite").exists()


def test_bad_note_is_a_warning_naming_it_and_the_run_goes_on(sample_vault):
    result = run("scan", str(sample_vault), "--json")
    assert result.returncode == 0
    lines = [line for line in result.stderr.splitlines() if line]
    assert any("citylayers/the_commissioners_plan_of_1811.md" in line and "YAML" in line for line in lines)
    assert all(line.startswith("warning: ") for line in lines)


@pytest.mark.parametrize(
    "make_path, message",
    [
        (lambda tmp: tmp / "does-not-exist", "vault not found"),
        (lambda tmp: (tmp / "file.md").write_text("x") and tmp / "file.md", "not a folder"),
    ],
    ids=["missing", "file-not-folder"],
)
def test_unusable_vault_path_is_one_line_and_exit_2(tmp_path, make_path, message):
    result = run("scan", str(make_path(tmp_path)))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stdout == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_unreadable_vault_is_exit_2(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0)
    try:
        result = run("scan", str(folder))
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2 and "permission" in result.stderr


def test_links_backlinks_unresolved_stats_json(sample_vault):
    v = str(sample_vault)
    links = json.loads(run("links", "orbitalnotes/olbers_paradox", v, "--json").stdout)
    assert links["note"] == "orbitalnotes/olbers_paradox.md"
    overview = [link for link in links["links"] if link["target"] == "overview"]
    assert overview and overview[0]["dest"] == "orbitalnotes/overview.md" and overview[0]["ambiguous"]

    back = json.loads(run("backlinks", "tidal_locking", v, "--json").stdout)
    assert back["note"] == "orbitalnotes/tidal_locking.md"
    assert any(b["source"] == "orbitalnotes/orbital_resonance.md" and b["kind"] == "embed" for b in back["backlinks"])

    missing = json.loads(run("unresolved", v, "--json").stdout)["unresolved"]
    assert sum(m["count"] for m in missing) == 20
    assert any(m["target"] == "Browning reaction" for m in missing)  # an alias never resolves

    stats = json.loads(run("stats", v, "--json").stdout)
    assert stats["notes"] == 28 and stats["most_linked"]


def test_unknown_note_is_an_error(sample_vault):
    result = run("backlinks", "no_such_note", str(sample_vault))
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no note matches 'no_such_note'"


def test_text_output_is_readable(sample_vault):
    result = run("scan", str(sample_vault))
    assert result.returncode == 0
    assert "notes" in result.stdout and "28" in result.stdout


@pytest.mark.parametrize("command", ["scan", "links", "backlinks", "unresolved", "stats"])
def test_every_command_has_help_and_json(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "--json" in result.stdout
