"""The architecture checks that import-linter cannot make on its own (see .importlinter)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_only_native_imports_the_c_extension():
    importers = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "vaultsync").rglob("*.py")
        if re.search(r"^\s*(?:from vaultsync import _cscan|import vaultsync\._cscan)|import_module\(\"vaultsync\._cscan\"\)", p.read_text(), re.M)
    ]
    assert importers == ["vaultsync/text/_native.py"]


def test_the_exporters_contract_names_every_internal_module():
    """New vaultsync modules must join the forbidden list, or exporters could reach them."""
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    forbidden = set(config["importlinter:contract:exporters-public-api"]["forbidden_modules"].split())
    modules = {f"vaultsync.{p.stem}" for p in (REPO / "vaultsync").glob("*.py") if p.stem not in ("__init__",)}
    modules |= {f"vaultsync.{p.name}" for p in (REPO / "vaultsync").iterdir() if (p / "__init__.py").is_file()}
    assert modules <= forbidden, sorted(modules - forbidden)


# -- vault file I/O only through vaultsync.fs ------------------------------------------------------

_OS_CALLS = {"open", "fdopen", "replace", "rename", "renames", "unlink", "remove", "rmdir", "removedirs", "walk", "scandir", "listdir"}
_SHUTIL_CALLS = {"copy", "copy2", "copyfile", "copytree", "move", "rmtree"}
_PATH_CALLS = {"read_text", "read_bytes", "write_text", "write_bytes", "unlink", "rename", "rmdir", "open", "iterdir", "glob", "rglob"}

# Modules outside vaultsync/fs/ that may touch files, and why: none of these files is a vault file,
# except where the reason says otherwise. "*" allows the whole module; otherwise only the calls
# named (as the check prints them: receiver.method or os.name).
_FILE_IO_ALLOWED: dict[str, tuple[set[str], str]] = {
    "vaultsync/config.py": ({"*"}, "the settings file"),
    "vaultsync/cli/app.py": ({"path.write_text"}, "the crash log, in the temp folder"),
    "vaultsync/daemon/state.py": ({"*"}, "the daemon's lock, status and log in .vaultsync/"),
    "vaultsync/daemon/service.py": ({"service.path.write_text"}, "the systemd/launchd unit, outside the vault"),
    "vaultsync/api/api_file.py": ({"*"}, ".vaultsync/api.json"),
    "vaultsync/mcp/host.py": ({"vault.state_dir / API_FILE.read_text", "self._opener.open"},
                              "the daemon's .vaultsync/api.json, and an HTTP request to its API"),
    "vaultsync/mcp/server.py": ({"tools.rename"}, "VaultTools.rename, no file call"),
    "vaultsync/mcp/tools.py": ({"shutil.move", "shutil.rmtree", "self.writes.rename"},
                               "an export's result moved from .vaultsync/exports/ to the output folder; ApiService.rename"),
    "vaultsync/sync/remote.py": ({"ignore.read_text", "ignore.write_text"}, "the repository's .gitignore (git's file, not a note)"),
    "vaultsync/api/server.py": (
        {"path.read_bytes", "self.server.api.rename"},  # the second is ApiService.rename, no file call
        "an export's result, under .vaultsync/exports/",
    ),
    "vaultsync/store/index.py": ({"*"}, "the index's SQLite files in .vaultsync/"),
    # Known exceptions, being reworked elsewhere (store/ has its own helper; sync/ was not part of
    # the audit): the scan's fast path opens notes itself (os.open + vaultsync.fs.vault.read_fd), and
    # recovery from an interrupted rebase writes working-tree files from git's blobs.
    "vaultsync/sync/cycle.py": ({"*"}, "git's files (.gitignore, .git/info/exclude) and the sync state in .vaultsync/"),
    "vaultsync/sync/recover.py": ({"*"}, "git's files in .git/; and the working tree after a broken rebase: to route through fs"),
    "exporters/apkg.py": (
        {"TEMPLATES / 'anki.css'.read_text", "os.replace", "open", "zf.open"},
        "package data; the output file; the scratch collection database",
    ),
    "exporters/epub.py": ({"TEMPLATES / 'epub.css'.read_text"}, "package data"),
    "exporters/pdf.py": (
        {"TEMPLATES / 'briefing.typ'.read_text", "source.write_text", "request.output.write_bytes", "folder.rglob"},
        "package data; typst's scratch source; the output file; the system's font folders",
    ),
    "exporters/document.py": ({"folder / name.write_bytes"}, "images beside the output, from bytes read through the vault"),
}


def _file_calls(path: Path) -> list[tuple[int, str]]:
    """The file-touching calls in a module: builtin open, os.<call>, shutil's path calls, and Path methods
    on any receiver but a Vault (``vault.read_text(uri)``, ``self.vault.read_bytes(uri)``)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            found.append((node.lineno, "open"))
        elif isinstance(func, ast.Attribute):
            receiver = ast.unparse(func.value)
            if receiver == "os" and func.attr in _OS_CALLS:
                found.append((node.lineno, f"os.{func.attr}"))
            elif receiver == "shutil" and func.attr in _SHUTIL_CALLS:
                found.append((node.lineno, f"shutil.{func.attr}"))
            elif func.attr in _PATH_CALLS and receiver != "os" and not receiver.endswith("vault"):
                found.append((node.lineno, f"{receiver}.{func.attr}"))
    return found


def test_vault_files_are_touched_only_through_vaultsync_fs():
    """open/replace/rename/unlink/walk/read_*/write_* appear only in vaultsync/fs/ and in the
    modules listed above for files that are not the vault's (state, git, outputs)."""
    found: dict[str, set[str]] = {}
    unexpected = []
    for path in sorted([*(REPO / "vaultsync").rglob("*.py"), *(REPO / "exporters").rglob("*.py")]):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("vaultsync/fs/"):
            continue
        allowed = _FILE_IO_ALLOWED.get(rel, (set(), ""))[0]
        for line, call in _file_calls(path):
            found.setdefault(rel, set()).add(call)
            if "*" not in allowed and call not in allowed:
                unexpected.append(f"{rel}:{line}: {call}")
    assert not unexpected, "vault file I/O outside vaultsync.fs (use Vault's methods or vaultsync.fs):\n" + "\n".join(unexpected)
    stale = [f"{rel}: {call}" for rel, (calls, _) in _FILE_IO_ALLOWED.items() for call in calls if call not in found.get(rel, set()) | {"*"}]
    stale += [rel for rel, (calls, _) in _FILE_IO_ALLOWED.items() if "*" in calls and rel not in found]
    assert not stale, "allowed file calls no longer made (shrink the list):\n" + "\n".join(stale)


def test_the_file_io_check_catches_a_direct_write(tmp_path):
    """The check above can fail: a Path write, an os.replace and a walk are all seen."""
    module = tmp_path / "m.py"
    module.write_text("import os\ndef f(p, vault):\n    p.write_text('x')\n    os.replace(p, p)\n    os.walk(p)\n    vault.read_text('a.md')\n")
    assert [call for _, call in _file_calls(module)] == ["p.write_text", "os.replace", "os.walk"]


def test_the_readme_layout_lists_every_module():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    for path in sorted((REPO / "vaultsync").rglob("*.py")):
        if path.name == "__init__.py" and path.parent.name != "vaultsync":
            continue
        assert f" {path.name} " in layout.replace("\n", " \n "), path.relative_to(REPO)
