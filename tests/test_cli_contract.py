"""The command line's contract with people and scripts (README, "For scripts"), command by command.

Exit 0 ok, 1 a failed operation, 2 bad usage, 3 crash; with --json exactly one JSON object on stdout
for every outcome, errors included. Which vault (the one the current folder is in), how notes are
named, -q and warnings, --version, output folders. All through the real command in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_VAULT


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "vaultsync", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=180, env=env)  # fmt: skip


def one_json(result: subprocess.CompletedProcess[str]) -> dict:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    target = tmp_path / "myvault"
    shutil.copytree(SAMPLE_VAULT, target, ignore=shutil.ignore_patterns(".vaultsync"))
    (target / ".obsidian").mkdir(exist_ok=True)
    return target


NOTE = "citylayers/ancient_grid_cities.md"

# command -> (arguments that succeed, arguments that fail as an operation, arguments that are bad usage)
CASES = {
    "scan": (["{v}"], None, ["{v}", "--no-such-flag"]),
    "links": ([NOTE, "{v}"], ["no_such_note", "{v}"], [NOTE, "{v}", "--bogus"]),
    "backlinks": ([NOTE, "{v}"], ["no_such_note", "{v}"], []),
    "unresolved": (["{v}"], None, ["{v}", "extra-arg"]),
    "stats": (["{v}"], None, ["{missing}"]),
    "status": (["{v}"], None, ["{missing}"]),
    "normalize": (["{v}", "--check", "--rule", "timestamps"], ["{v}", "--check"], ["{v}", "--rule", "no-such-rule"]),
    "mv": ([NOTE, "citylayers/grid_cities.md", "{v}"], ["no/such/note.md", "x.md", "{v}"], [NOTE, "{v}"]),
    "search": (["grid", "{v}"], None, ["grid", "{v}", "--limit", "0"]),
    "base": (["videos.base", "{v}"], ["no_such.base", "{v}"], ["videos.base", "{v}", "--csv"]),
    "export": (["epub", "{v}", "-o", "{out}/x.epub"], ["epub", "{v}", "--where", "videoId=nothing", "-o", "{out}/x.epub"],
               ["pdf", "{v}", "--depth", "-1", "-o", "{out}/x.pdf"]),
}


def _fill(args: list[str], vault: Path, tmp: Path) -> list[str]:
    return [a.format(v=vault, out=tmp, missing=tmp / "missing") for a in args]


@pytest.mark.parametrize("command", sorted(CASES))
def test_exit_codes_and_one_json_object_per_outcome(command, vault, tmp_path):
    ok, failed, usage = CASES[command]
    if command == "normalize":  # the sample needs normalizing: make it clean first so --check passes
        assert run("normalize", str(vault)).returncode == 0
    result = run(command, *_fill(ok, vault, tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert "error" not in one_json(result)
    if command == "normalize":  # ... and then give it a note to change
        (vault / "citylayers" / "new.md").write_text(
            '---\nvideoId: dQw4w9WgXcQ\n---\n<a class="yt-timestamp" data-t="00:01:02">[00:01:02]</a> said\n'
        )
    if failed is not None:
        result = run(command, *_fill(failed, vault, tmp_path), "--json")
        assert result.returncode == 1, (result.stdout, result.stderr)
        data = one_json(result)
        if command != "normalize":  # --check that finds work is a result, not an error
            assert set(data) == {"error", "message", "hint"} and data["message"]
    if usage:
        result = run(command, *_fill(usage, vault, tmp_path), "--json")
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert set(one_json(result)) == {"error", "message", "hint"}


def test_usage_errors_without_json_are_text_and_exit_2(vault, tmp_path):
    for args in (["export", "pdf", str(vault), "--paper", "a5"], ["export", "pdf", str(vault), "--depth", "-1"],
                 ["links"], ["no-such-command"]):  # fmt: skip
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""


def test_output_folder_is_not_created_unless_asked(vault, tmp_path):
    target = tmp_path / "no" / "dir" / "x.epub"
    result = run("export", "epub", str(vault), "-o", str(target))
    assert result.returncode == 2 and "--mkdir" in result.stderr
    assert not target.parent.exists()
    result = run("export", "epub", str(vault), "-o", str(target), "--mkdir")
    assert result.returncode == 0, result.stderr
    assert target.is_file()
    assert "1 notes" not in result.stdout


def test_the_vault_is_the_one_the_current_folder_is_in(vault):
    inside = vault / "citylayers"
    result = run("stats", "--json", cwd=inside)
    assert result.returncode == 0, result.stderr
    assert Path(one_json(result)["vault"]) == vault
    assert "bundled" not in result.stderr
    result = run("scan", cwd=inside)
    assert str(vault) in result.stdout


def test_outside_any_vault_the_sample_is_used_and_said_and_not_written(tmp_path):
    result = run("stats", "--json", cwd=tmp_path)
    assert result.returncode == 0
    assert Path(one_json(result)["vault"]).resolve() == SAMPLE_VAULT.resolve()
    assert "bundled sample" in result.stderr and result.stderr.count("\n") == 1
    before = {p: p.read_bytes() for p in SAMPLE_VAULT.rglob("*.md")}
    result = run("normalize", cwd=tmp_path)
    assert result.returncode == 2 and "bundled sample" in result.stderr
    assert before == {p: p.read_bytes() for p in SAMPLE_VAULT.rglob("*.md")}


def test_notes_are_named_as_the_shell_gives_them(vault):
    here = vault / "citylayers"
    for name, cwd in ((NOTE, vault), ("ancient_grid_cities.md", here), (str(vault / NOTE), REPO),
                      ("ancient_grid_cities", REPO), ("citylayers/ancient_grid_cities", REPO)):  # fmt: skip
        args = ["links", name] + ([] if cwd != REPO else [str(vault)]) + ["--json"]
        result = run(*args, cwd=cwd)
        assert result.returncode == 0, (name, result.stderr)
        assert one_json(result)["note"] == NOTE


def test_an_ambiguous_name_lists_the_candidates_and_an_unknown_one_suggests(vault):
    (vault / "kitchenlabs" / "ancient_grid_cities.md").write_text("# twin\n")
    result = run("backlinks", "ancient_grid_cities", str(vault), "--json")
    assert result.returncode == 1
    data = one_json(result)
    assert data["error"] == "ambiguous_note"
    assert NOTE in data["message"] and "kitchenlabs/ancient_grid_cities.md" in data["message"]
    result = run("backlinks", "ancient_grid_citie", str(vault))
    assert result.returncode == 1 and "did you mean" in result.stderr and "ancient_grid_cities" in result.stderr


def test_an_absolute_path_outside_the_vault_is_refused(vault, tmp_path):
    outside = tmp_path / "elsewhere.md"
    outside.write_text("x")
    result = run("links", str(outside), str(vault), "--json")
    assert result.returncode == 2
    assert one_json(result)["error"] == "outside_vault"


def test_links_of_an_unreadable_note_is_an_error_not_zero_links(vault):
    (vault / "citylayers" / "broken.md").write_bytes(b"\xff\xfe\x00bad bytes \xc3\x28")
    result = run("links", "citylayers/broken.md", str(vault), "--json")
    assert result.returncode == 1, result.stdout
    assert one_json(result)["error"] == "note_read"


def test_quiet_prints_errors_only_and_warnings_name_the_note_once(vault):
    for i in range(6):
        (vault / "citylayers" / f"bad{i}.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    result = run("scan", str(vault))
    lines = [line for line in result.stderr.splitlines() if line]
    assert any("more notes with" in line for line in lines), lines
    assert all(line.count("bad") <= 1 for line in lines)
    result = run("-q", "scan", str(vault))
    assert result.stderr == ""
    result = run("-v", "scan", str(vault))
    assert sum("citylayers/bad" in line for line in result.stderr.splitlines()) >= 6


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("vaultsync ")


def test_help_shows_real_metavars():
    result = run("export", "--help")
    assert "<bool>" not in result.stdout and "FILE" in result.stdout and "FORMAT" in result.stdout


@pytest.mark.parametrize("fmt", ["anki", "epub"])
def test_an_export_counts_the_notes_it_holds_and_names_those_left_out(vault, tmp_path, fmt):
    (vault / "orbitalnotes" / "broken.md").write_bytes(b"\xff\xfe not text \xc3\x28")
    total = len([p for p in (vault / "orbitalnotes").glob("*.md")])
    result = run("export", fmt, str(vault), "--folder", "orbitalnotes", "-o", str(tmp_path / f"x.{fmt}"), "--json")
    assert result.returncode == 0, result.stderr
    data = one_json(result)
    assert data["left_out"] == ["orbitalnotes/broken.md"]
    assert data["notes"] == total - 1


def test_normalize_counts_what_it_skipped_and_says_why_a_video_is_unknown(vault):
    (vault / "citylayers" / "broken.md").write_bytes(b"\xff\xfe not text \xc3\x28")
    (vault / "citylayers" / "bad_yaml.md").write_text(
        '---\ntitle: [unclosed\nvideoId: dQw4w9WgXcQ\n---\n<a class="yt-timestamp" data-t="00:00:05">[00:00:05]</a>\n'
    )
    result = run("normalize", str(vault), "--check", "--json")
    data = one_json(result)
    assert data["files_skipped"] == 1
    said = [line for line in result.stderr.splitlines() if "bad_yaml.md" in line and "timestamp" in line]
    assert said and "cannot be read" in said[0] and "no videoId" not in said[0]


def test_sync_exit_codes_and_json(vault, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    result = run("sync", str(vault), "--json")  # not a repository, and no --remote: a failed operation
    assert result.returncode == 1 and set(one_json(result)) == {"error", "message", "hint"}
    result = run("sync", str(vault), "--remote", str(tmp_path / "no-such-remote"), "--json")  # bad usage
    assert result.returncode == 2 and set(one_json(result)) == {"error", "message", "hint"}
    result = run("sync", str(vault), "--remote", str(remote), "--json")
    assert result.returncode == 0, result.stderr
    data = one_json(result)
    assert data["pushed"] is True and data["vault"] == str(vault)


@pytest.mark.parametrize("args", [["watch", "{missing}"], ["serve", "{missing}"], ["serve", "{v}", "--port", "70000"],
                                  ["mcp", "{missing}"], ["service", "install", "{missing}"]])  # fmt: skip
def test_long_running_commands_refuse_bad_usage_with_exit_2(vault, tmp_path, args):
    result = run(*_fill(args, vault, tmp_path))
    assert result.returncode == 2, (args, result.stderr)
    assert result.stderr.startswith(("error:", "Usage:")), result.stderr
