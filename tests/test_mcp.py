"""The MCP server (issue 19), through the official SDK's client over stdio against a real
``python -m vaultsync mcp`` process: tool listing and schemas, each tool's answer, the read-only
default, every traversal form refused, exports only into the output folder, link-safe renames.

One server process per vault and module: a read-only one, and one started with --allow-writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult

from tests.conftest import REPO, write_file

pytestmark = pytest.mark.slow

VIDEO = "abcdefghijk"
LONG_LINE = "A line of a long note, to be read page by page.\n"
FILES = {
    "channel/Alpha.md": (
        f"---\ntitle: Alpha\nvideoId: {VIDEO}\ntags: [demo]\nstatus: draft\n---\n"
        "# Alpha\n\n## Start\nFirst point "
        '<a class="yt-timestamp" data-t="00:01:23">[00:01:23]</a>.\n\n'
        "## Later\nSee [[Beta]] and [[Missing note]], then [[Gamma#Part]].\n"
    ),
    "channel/Beta.md": "---\ntitle: Beta\n---\nBack to [[Alpha]] and [[Alpha#Start|the start]].\n",
    "other/Gamma.md": "---\nstatus: done\n---\n# Gamma\n\n## Part\nLinks [[Beta]]. #topic/sub\n",
    "channel/Long.md": "# Long\n" + LONG_LINE * 2_000,
    "other/Delta.md": f'---\nvideoId: {VIDEO}\n---\nA point <a class="yt-timestamp" data-t="01:02:03">[01:02:03]</a>.\n',
    ".hidden/Secret.md": "hidden [[Alpha]]\n",
}


def build_vault(root: Path, outside: Path) -> Path:
    for rel, text in FILES.items():
        write_file(root / rel, text)
    write_file(outside / "Secret.md", "outside the vault\n")
    (root / "channel" / "Outside.md").symlink_to(outside / "Secret.md")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    return root


@asynccontextmanager
async def open_session(vault: Path, *args: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "vaultsync", "mcp", str(vault), "--refresh", "0", *args],
        env={"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


class Server:
    """A running ``vaultsync mcp`` and a client session to it, called from synchronous tests."""

    def __init__(self, portal: BlockingPortal, session: ClientSession, vault: Path) -> None:
        self.portal = portal
        self.session = session
        self.vault = vault

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        return self.portal.call(self.session.call_tool, tool, arguments)

    def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = self.call(tool, **arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
        return result.structured_content

    def refused(self, tool: str, **arguments: Any) -> str:
        result = self.call(tool, **arguments)
        assert result.is_error, result.structured_content
        return result.content[0].text  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outside")


@contextmanager
def serving(vault: Path, *args: str) -> Iterator[Server]:
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(open_session(vault, *args)) as session:
        yield Server(portal, session, vault)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory, outside: Path) -> Iterator[Server]:
    with serving(build_vault(tmp_path_factory.mktemp("ro") / "vault", outside)) as server:
        yield server


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory, outside: Path, exports: Path) -> Iterator[Server]:
    vault = build_vault(tmp_path_factory.mktemp("rw") / "vault", outside)
    with serving(vault, "--allow-writes", "--output", str(exports)) as server:
        yield server


def vault_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and ".vaultsync" not in p.parts
    }


# -- listing and schemas -------------------------------------------------------------------------


def test_tools_are_listed_with_schemas_and_one_line_descriptions(reader: Server) -> None:
    tools = {t.name: t for t in reader.portal.call(reader.session.list_tools).tools}
    assert set(tools) == {"read_note", "links", "backlinks", "unresolved", "list_notes", "search", "normalize", "rename", "export"}
    for tool in tools.values():
        assert tool.description and "\n" not in tool.description
        assert tool.input_schema["type"] == "object"
        for prop in tool.input_schema["properties"].values():
            assert prop.get("description"), (tool.name, prop)
    assert tools["read_note"].input_schema["required"] == ["path"]
    assert tools["links"].input_schema["properties"]["limit"]["maximum"] == 500
    assert tools["rename"].input_schema["required"] == ["old", "new"]
    assert tools["read_note"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["rename"].annotations.read_only_hint is False  # type: ignore[union-attr]


def test_notes_are_resources(reader: Server) -> None:
    listed = reader.portal.call(reader.session.list_resources).resources
    uris = {r.uri for r in listed}
    assert "vault://channel/Alpha.md" in uris
    assert not any(".hidden" in u for u in uris)
    text = reader.portal.call(reader.session.read_resource, "vault://channel/Beta.md").contents[0].text  # type: ignore[union-attr]
    assert text == FILES["channel/Beta.md"]
    for bad in ("vault://../outside/Secret.md", "vault://.hidden/Secret.md", "vault://channel/Outside.md", "vault://%2e%2e/x.md"):
        with pytest.raises(Exception):  # noqa: B017 - the SDK raises its MCPError
            reader.portal.call(reader.session.read_resource, bad)


# -- reads ---------------------------------------------------------------------------------------


def test_read_note_gives_frontmatter_headings_and_timestamps(reader: Server) -> None:
    note = reader.ok("read_note", path="channel/Alpha")
    assert note["note"] == "channel/Alpha.md"
    assert note["frontmatter"] == {"title": "Alpha", "videoId": VIDEO, "tags": ["demo"], "status": "draft"}
    assert note["text"] == FILES["channel/Alpha.md"] and note["next_offset"] is None
    assert [(h["level"], h["text"]) for h in note["headings"]] == [(1, "Alpha"), (2, "Start"), (2, "Later")]
    assert note["timestamps"] == [
        {"offset": note["text"].index("<a class"), "second": 83, "clock": "01:23", "url": f"https://www.youtube.com/watch?v={VIDEO}&t=83s"}
    ]


def test_search_lands_on_the_second(reader: Server) -> None:
    found = reader.ok("search", query='"first point"')
    hit = found["hits"][0]
    assert hit["uri"] == "channel/Alpha.md" and hit["heading"].endswith("Start")
    assert hit["seconds"] == 83 and hit["video_url"] == f"https://www.youtube.com/watch?v={VIDEO}&t=83s"
    assert reader.ok("search", query="first", folders=["other"])["hits"] == []
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its MCPError: a folder outside the vault
        reader.ok("search", query="first", folders=["../outside"])


def test_long_notes_come_in_pages(reader: Server) -> None:
    first = reader.ok("read_note", path="channel/Long.md", length=1_000)
    assert len(first["text"]) == 1_000 and first["next_offset"] == 1_000
    assert first["length"] == len(FILES["channel/Long.md"])
    pages, offset = [first["text"]], first["next_offset"]
    while offset is not None:
        page = reader.ok("read_note", path="channel/Long.md", offset=offset, length=100_000)
        pages.append(page["text"])
        offset = page["next_offset"]
    assert "".join(pages) == FILES["channel/Long.md"]
    assert "length" in reader.refused("read_note", path="channel/Long.md", length=100_001)


def test_links_backlinks_and_unresolved(reader: Server) -> None:
    links = reader.ok("links", path="channel/Alpha.md")
    assert [(item["target"], item["dest"]) for item in links["items"]] == [
        ("Beta", "channel/Beta.md"), ("Missing note", None), ("Gamma", "other/Gamma.md")
    ]
    back = reader.ok("backlinks", path="channel/Alpha.md")
    assert {item["source"] for item in back["items"]} == {"channel/Beta.md"}  # not the hidden note
    assert back["total"] == 2
    one = reader.ok("backlinks", path="channel/Alpha.md", limit=1)
    assert len(one["items"]) == 1 and one["next_offset"] == 1
    missing = reader.ok("unresolved")
    assert [row["target"] for row in missing["items"]] == ["Missing note"]
    assert reader.ok("unresolved", path="channel/Beta.md")["items"] == []
    assert "limit" in reader.refused("links", path="channel/Alpha.md", limit=501)


def test_list_notes_by_folder_tag_and_frontmatter(reader: Server) -> None:
    everything = reader.ok("list_notes")
    assert {n["note"] for n in everything["items"]} == {"channel/Alpha.md", "channel/Beta.md", "channel/Long.md", "other/Delta.md", "other/Gamma.md"}
    assert {n["note"] for n in reader.ok("list_notes", folders=["channel"])["items"]} == {
        "channel/Alpha.md", "channel/Beta.md", "channel/Long.md"
    }
    assert [n["note"] for n in reader.ok("list_notes", tags=["topic"])["items"]] == ["other/Gamma.md"]
    assert [n["note"] for n in reader.ok("list_notes", where={"status": "DRAFT"})["items"]] == ["channel/Alpha.md"]
    two = reader.ok("list_notes", limit=2)
    assert len(two["items"]) == 2 and two["total"] == 5 and two["next_offset"] == 2
    assert "refused" in reader.refused("list_notes", folders=["../outside"])


def test_normalize_shows_the_diff_and_writes_nothing(reader: Server) -> None:
    before = vault_files(reader.vault)
    result = reader.ok("normalize", path="channel/Alpha.md")
    assert result["written"] is False and result["changed"] == ["channel/Alpha.md"]
    assert f"watch?v={VIDEO}&t=83s" in result["diffs"][0]
    assert vault_files(reader.vault) == before


# -- safety --------------------------------------------------------------------------------------


def test_writes_are_refused_without_allow_writes(reader: Server) -> None:
    before = vault_files(reader.vault)
    assert "--allow-writes" in reader.refused("normalize", path="channel/Alpha.md", write=True)
    assert "--allow-writes" in reader.refused("rename", old="channel/Beta.md", new="channel/Renamed.md")
    assert "--allow-writes" in reader.refused("export", format="anki", notes=["channel/Alpha.md"])
    assert vault_files(reader.vault) == before


TRAVERSALS = [
    "../outside/Secret.md",
    "channel/../../outside/Secret.md",
    "%2e%2e/outside/Secret.md",
    "channel%2fAlpha.md",
    "/etc/passwd",
    "~/notes.md",
    "C:/Windows/notes.md",
    ".hidden/Secret.md",
    ".obsidian/app.json",
    ".vaultsync/index.sqlite",
    "channel/Outside.md",
    "linked/Secret.md",
    "channel\\Alpha.md",
    "..\\outside\\Secret.md",
    "channel/\x00Alpha.md",
    "",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_every_traversal_form_is_refused(reader: Server, path: str) -> None:
    for tool in ("read_note", "links", "backlinks", "unresolved"):
        message = reader.refused(tool, path=path)
        assert f"path {path!r} refused" in message, message


def test_writes_are_refused_outside_the_vault(writer: Server, outside: Path) -> None:
    before = sorted(p.name for p in outside.iterdir())
    for old, new in [("channel/Beta.md", "../outside/Beta.md"), ("channel/Beta.md", "linked/Beta.md"),
                     ("channel/Beta.md", ".hidden/Beta.md"), ("linked/Secret.md", "channel/Secret.md"),
                     ("channel/Outside.md", "channel/In.md")]:  # fmt: skip
        assert writer.call("rename", old=old, new=new).is_error, (old, new)
    assert writer.call("normalize", path="channel/Outside.md", write=True).is_error
    assert writer.call("export", format="anki", folders=["linked"]).is_error
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (writer.vault / "channel" / "Beta.md").is_file()


# -- writes --------------------------------------------------------------------------------------


def test_rename_updates_backlinks_on_disk(writer: Server) -> None:
    assert "channel/Alpha.md" in {n["note"] for n in writer.ok("list_notes")["items"]}  # an answer now cached
    result = writer.ok("rename", old="channel/Alpha.md", new="other/Alpha renamed.md")
    assert result["moved"] == {"channel/Alpha.md": "other/Alpha renamed.md"}
    assert result["notes_updated"] == ["channel/Beta.md"]
    beta = (writer.vault / "channel" / "Beta.md").read_text(encoding="utf-8")
    assert "[[Alpha renamed]]" in beta and "[[Alpha renamed#Start|the start]]" in beta
    assert not (writer.vault / "channel" / "Alpha.md").exists()
    back = writer.ok("backlinks", path="other/Alpha renamed.md")
    assert {item["source"] for item in back["items"]} == {"channel/Beta.md"}
    listed = {n["note"] for n in writer.ok("list_notes")["items"]}
    assert "other/Alpha renamed.md" in listed and "channel/Alpha.md" not in listed
    resources = {r.uri for r in writer.portal.call(writer.session.list_resources).resources}
    assert "vault://other/Alpha%20renamed.md" in resources
    text = writer.portal.call(writer.session.read_resource, "vault://other/Alpha%20renamed.md").contents[0].text  # type: ignore[union-attr]
    assert text.startswith("---\ntitle: Alpha\n")


def test_normalize_writes_when_asked_and_allowed(writer: Server) -> None:
    result = writer.ok("normalize", path="other/Delta.md", write=True)
    assert result["written"] is True and result["changed"] == ["other/Delta.md"]
    text = (writer.vault / "other" / "Delta.md").read_text(encoding="utf-8")
    assert f"[01:02:03](https://www.youtube.com/watch?v={VIDEO}&t=3723s)" in text
    assert writer.ok("normalize", path="other/Delta.md", write=True)["changed"] == []  # a fixed point
    note = writer.ok("read_note", path="other/Delta.md")
    assert [(t["clock"], t["second"]) for t in note["timestamps"]] == [("01:02:03", 3723)]


def test_export_lands_only_in_the_output_folder(writer: Server, exports: Path) -> None:
    before = vault_files(writer.vault)
    result = writer.ok("export", format="anki", folders=["other"], title="My deck")
    target = Path(result["file"])
    assert target.parent == exports and target.name == "My deck.apkg" and target.stat().st_size > 0
    assert result["notes"] >= 1
    assert vault_files(writer.vault) == before
    assert not any((writer.vault / ".vaultsync" / "exports").glob("*/*"))
    # a title cannot steer the file elsewhere
    sneaky = writer.ok("export", format="anki", folders=["other"], title="../../escape/deck")
    assert Path(sneaky["file"]).parent == exports


# -- beside a running daemon ---------------------------------------------------------------------


def _start_daemon(vault: Path, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "vaultsync", "watch", str(vault), *args],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.DEVNULL)  # fmt: skip
    status = vault / ".vaultsync" / "daemon.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = json.loads(status.read_text())
        except (OSError, ValueError):
            data = {}
        if data.get("state") == "watching" and data.get("pid") == proc.pid:
            api = vault / ".vaultsync" / "api.json"
            if "--api" not in args or (api.exists() and json.loads(api.read_text()).get("pid") == proc.pid):
                return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the daemon did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def test_beside_a_daemon_writes_go_through_its_lock(tmp_path: Path, outside: Path) -> None:
    vault = build_vault(tmp_path / "vault", outside)
    daemon = _start_daemon(vault)
    try:
        with serving(vault, "--allow-writes") as server:
            assert server.ok("backlinks", path="channel/Alpha.md")["total"] == 2  # reads: the daemon's index
            assert server.ok("list_notes")["total"] == 5
            write_file(vault / "other" / "Fresh.md", "A new note about [[Beta]].\n")
            deadline = time.monotonic() + 20  # the daemon indexes it; this server (--refresh 0) does not scan
            while server.ok("list_notes")["total"] != 6 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "other/Fresh.md" in {n["note"] for n in server.ok("list_notes")["items"]}
            message = server.refused("rename", old="channel/Alpha.md", new="other/Alpha.md")
            assert f"pid {daemon.pid}" in message and "serves no API" in message and "vaultsync watch --api" in message
            assert (vault / "channel" / "Alpha.md").is_file()
    finally:
        _stop(daemon)
    daemon = _start_daemon(vault, "--api")
    try:
        with serving(vault, "--allow-writes") as server:
            result = server.ok("rename", old="channel/Alpha.md", new="other/Alpha two.md")
            assert result["notes_updated"] == ["channel/Beta.md"]
            assert "[[Alpha two#Start|the start]]" in (vault / "channel" / "Beta.md").read_text(encoding="utf-8")
            assert server.ok("normalize", path="other/Delta.md", write=True)["written"] is True
    finally:
        _stop(daemon)


# -- settings ------------------------------------------------------------------------------------


def test_mcp_settings_are_read_and_validated(tmp_path: Path) -> None:
    from vaultsync.config import load_settings
    from vaultsync.errors import ConfigError

    assert load_settings(tmp_path).mcp.allow_writes is False and load_settings(tmp_path).mcp.output == ""
    write_file(tmp_path / ".vaultsync.toml", '[mcp]\nallow-writes = true\noutput = "exports"\n')
    settings = load_settings(tmp_path).mcp
    assert settings.allow_writes is True and settings.output == "exports"
    write_file(tmp_path / ".vaultsync.toml", '[mcp]\nallow-writes = "yes"\noutput = 3\nport = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert all(key in str(caught.value) for key in ("mcp.allow-writes", "mcp.output", "mcp.port"))


def test_the_output_folder_is_never_a_hidden_vault_folder(tmp_path: Path) -> None:
    from vaultsync.errors import ConfigError
    from vaultsync.fs.vault import Vault
    from vaultsync.mcp.tools import output_folder

    vault = Vault(build_vault(tmp_path / "vault", tmp_path / "outside"))
    assert output_folder(vault, "") is None
    assert output_folder(vault, "exports") == vault.root / "exports"
    assert output_folder(vault, str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    for bad in (".vaultsync/out", ".obsidian", "."):
        with pytest.raises(ConfigError):
            output_folder(vault, bad)


def test_alone_it_keeps_the_index_up_to_date_and_takes_allow_writes_from_the_settings(tmp_path: Path, outside: Path) -> None:
    vault = build_vault(tmp_path / "vault", outside)
    write_file(vault / ".vaultsync.toml", "[mcp]\nallow-writes = true\n")
    with serving(vault, "--refresh", "0.1") as server:
        write_file(vault / "other" / "Fresh.md", "A new note about [[Beta]].\n")
        deadline = time.monotonic() + 20  # a read after 0.1 s starts a scan in the background
        while server.ok("backlinks", path="channel/Beta.md")["total"] < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "other/Fresh.md" in {item["source"] for item in server.ok("backlinks", path="channel/Beta.md")["items"]}
        assert server.ok("rename", old="channel/Beta.md", new="channel/Beta two.md")["moved"] == {"channel/Beta.md": "channel/Beta two.md"}
        assert "no export folder" in server.refused("export", format="anki", notes=["channel/Alpha.md"])


def test_write_answers_are_bounded() -> None:
    from vaultsync.mcp.tools import bounded

    data = {"moved": {f"a/{i}.md": f"b/{i}.md" for i in range(1_000)}, "notes_updated": [f"{i}.md" for i in range(3)], "links_updated": 7}
    out = bounded(data, {"moved": 500, "notes_updated": 500, "diagnostics": 500})
    assert len(out["moved"]) == 500 and out["moved_total"] == 1_000
    assert out["notes_updated"] == data["notes_updated"] and out["notes_updated_total"] == 3
    assert out["links_updated"] == 7 and "diagnostics_total" not in out


def test_stdout_carries_only_the_protocol(tmp_path: Path, outside: Path) -> None:
    from mcp_types.version import LATEST_PROTOCOL_VERSION

    vault = build_vault(tmp_path / "vault", outside)
    write_file(vault / "other" / "Broken.md", b"\xff\xfe not UTF-8 [[Alpha]]\n")  # a warning while indexing
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "read_note", "arguments": {"path": "nope/../x"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "read_note", "arguments": {"path": "other/Broken.md"}}},
    ]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "vaultsync", "-v", "mcp", str(vault), "--refresh", "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
    proc.stdin.flush()
    answers = [json.loads(proc.stdout.readline()) for _ in range(3)]  # a line that is not JSON fails here
    _, stderr = proc.communicate(timeout=60)  # closes stdin: the server ends
    assert proc.returncode == 0
    assert all(a["jsonrpc"] == "2.0" for a in answers) and sorted(a["id"] for a in answers) == [1, 2, 3]
    calls = {a["id"]: a["result"] for a in answers}
    assert calls[2]["isError"] is True and calls[3]["isError"] is True
    assert "Broken.md" in stderr  # the indexing warning went to stderr
