"""The local HTTP API over real HTTP on 127.0.0.1: auth, CORS, path safety, bodies, every endpoint."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import vaultsync.api.accept as accept_mod
import vaultsync.api.connection as connection_mod
from tests.conftest import SAMPLE_VAULT, write_file
from vaultsync.api.api_file import API_FILE
from vaultsync.api.connection import MAX_BODY
from vaultsync.api.local_host import LocalHost
from vaultsync.api.server import ORIGIN, ApiServer
from vaultsync.config import Settings, WatchSettings
from vaultsync.daemon.loop import Daemon
from vaultsync.daemon.state import read_status
from vaultsync.fs.vault import Vault
from vaultsync.store.indexing import Indexer, update_index

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """Raw HTTP, so paths go on the wire exactly as written (no client-side normalizing)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "default",
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = dict(headers or {})
        if token == "default":
            all_headers["Authorization"] = f"Bearer {self.token}"
        elif token is not None:
            all_headers["Authorization"] = token
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            all_headers.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=all_headers)
        resp = conn.getresponse()
        reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        conn.close()
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, body if body is not None else {}, **kw)


@dataclass
class Api:
    root: Path
    outside: Path
    server: ApiServer
    client: Client


def tree_digest(*roots: Path) -> str:
    """Every file's path, mode and bytes under ``roots`` (the state folder aside): 'nothing touched'."""
    h = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if ".vaultsync" in path.parts or path.is_dir():
                continue
            h.update(str(path.relative_to(root)).encode())
            h.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return h.hexdigest()


def _build_vault(base: Path) -> tuple[Path, Path]:
    root = base / "vault"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultsync"))
    write_file(root / "api/Hub.md", "# Hub\n\nSee [[Spoke]] and [[Missing Note]].\n")
    write_file(root / "api/Spoke.md", "# Spoke\n\nBack to [[Hub]].\n")
    write_file(root / "api/Messy.md", "# Messy\n\nA link with spaces: [[ Hub ]].\n")
    outside = base / "outside"
    write_file(outside / "secret.md", "# Secret\n\n[[Hub]]\n")
    os.symlink(outside, root / "escape")  # a folder symlink pointing out of the vault
    os.symlink(outside / "secret.md", root / "api/leak.md")  # a note symlink pointing out
    write_file(outside / "secret.base", "filters: 'true'\n# Secret\n")
    os.symlink(outside / "secret.base", root / "api/leak.base")  # a base symlink pointing out
    return root, outside



def _start(root: Path, port: int = 0) -> ApiServer:
    vault = Vault(root)
    index, _ = update_index(vault, jobs=1)
    return ApiServer(LocalHost(vault, Settings(), Indexer(vault, index), read_status), port=port).start()


def _open_api(base: Path) -> Iterator[Api]:
    root, outside = _build_vault(base)
    server = _start(root)
    try:
        yield Api(root, outside, server, Client(server.port, server.token))
    finally:
        server.stop()
        server.host.indexer.index.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """A server on a fresh copy of the sample vault, for tests that write."""
    yield from _open_api(tmp_path)


@pytest.fixture(scope="module")
def ro_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server shared by the tests that only read (and those that must change nothing)."""
    yield from _open_api(tmp_path_factory.mktemp("ro"))


# -- api.json, token, auth ---------------------------------------------------------------------------


def test_api_file_is_0600_and_the_token_survives_a_restart(tmp_path):
    root, _ = _build_vault(tmp_path)
    first = _start(root)
    path = root / ".vaultsync" / API_FILE
    data = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert data["port"] == first.port and data["url"] == f"http://127.0.0.1:{first.port}"
    assert len(data["token"]) >= 32 and first._httpd.server_address[0] == "127.0.0.1"
    first.stop()
    second = _start(root)
    try:
        assert second.token == data["token"]
        assert json.loads(path.read_text())["port"] == second.port
    finally:
        second.stop()


ENDPOINTS = [
    ("GET", "/status", None),
    ("GET", "/openapi.json", None),
    ("GET", "/unresolved", None),
    ("GET", "/notes/api%2FHub.md/backlinks", None),
    ("GET", "/notes/links?path=api/Hub.md", None),
    ("GET", "/bases/videos.base?view=Most%20linked", None),
    ("GET", "/search?q=hub", None),
    ("POST", "/normalize", {"path": "api/Messy.md", "write": True}),
    ("POST", "/exports", {"format": "epub", "selection": {"folders": ["api"]}}),
    ("GET", "/exports/1-abcdef01", None),
    ("GET", "/exports/1-abcdef01/result", None),
    ("POST", "/rename", {"from": "api/Spoke.md", "to": "api/Renamed.md"}),
    ("POST", "/sync", {}),
    ("GET", "/no-such-endpoint", None),
]


@pytest.mark.parametrize("token", [None, "Bearer wrong-token-0123456789abcdef0123456789", "Basic dXNlcjpwYXNz", "Bearer "])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_no_request_is_served_without_the_token(ro_api, method, path, body, token):
    before = tree_digest(ro_api.root, ro_api.outside)
    reply = ro_api.client.request(method, path, body, token=token)
    assert reply.status == 401
    assert reply.json["error"] == "unauthorized" and set(reply.json) == {"error", "message", "hint"}
    assert tree_digest(ro_api.root, ro_api.outside) == before


def test_the_right_token_with_the_wrong_case_of_scheme_still_works(ro_api):
    assert ro_api.client.get("/status", token=f"bearer {ro_api.server.token}").status == 200


def test_requests_for_another_host_name_are_refused(ro_api):
    reply = ro_api.client.get("/status", headers={"Host": "evil.example:80"})
    assert reply.status == 421 and reply.json["error"] == "wrong_host"


# -- CORS --------------------------------------------------------------------------------------------


def test_cors_preflight_admits_only_obsidian(ro_api):
    ok = ro_api.client.request("OPTIONS", "/status", token=None, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    assert ok.status == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    evil = ro_api.client.request("OPTIONS", "/status", token=None, headers={"Origin": "https://evil.example"})
    assert evil.status == 403 and "access-control-allow-origin" not in evil.headers


def test_cors_headers_only_for_obsidian_and_other_origins_are_refused(ro_api):
    ok = ro_api.client.get("/status", headers={"Origin": ORIGIN})
    assert ok.status == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in ro_api.client.get("/status").headers
    evil = ro_api.client.get("/status", headers={"Origin": "http://localhost:8080"})
    assert evil.status == 403 and evil.json["error"] == "origin_refused"


# -- path safety -------------------------------------------------------------------------------------

TRAVERSALS = [
    "../outside/secret.md",
    "api/../../outside/secret.md",
    "%2e%2e%2foutside%2fsecret.md",
    "%252e%252e%252foutside%252fsecret.md",
    "..%2F..%2Foutside%2Fsecret.md",
    "..%5coutside%5csecret.md",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "C:%5Cwindows%5Cwin.ini",
    "escape/secret.md",
    "api/leak.md",
    ".vaultsync/api.json",
    "api%2F..%2F..%2Foutside%2Fsecret.md",
    "api/Hub.md%00",
]


@pytest.mark.parametrize("raw", TRAVERSALS)
@pytest.mark.parametrize("what", ["links", "backlinks", "unresolved"])
def test_note_reads_outside_the_vault_are_refused(ro_api, raw, what):
    before = tree_digest(ro_api.root, ro_api.outside)
    for url in (f"/notes/{raw}/{what}", f"/notes/{what}?path={raw}"):
        reply = ro_api.client.get(url)
        assert 400 <= reply.status < 500, (url, reply.status, reply.body)
        assert set(reply.json) == {"error", "message", "hint"}
        assert b"Secret" not in reply.body
    assert tree_digest(ro_api.root, ro_api.outside) == before


BASE_TRAVERSALS = [*TRAVERSALS, "../outside/secret.base", "escape/secret.base", "api/leak.base", "%2e%2e/outside/secret.base"]


@pytest.mark.parametrize("raw", BASE_TRAVERSALS)
def test_base_reads_outside_the_vault_are_refused(ro_api, raw):
    before = tree_digest(ro_api.root, ro_api.outside)
    reply = ro_api.client.get(f"/bases/{raw}")
    assert 400 <= reply.status < 500, (raw, reply.status, reply.body)
    assert set(reply.json) == {"error", "message", "hint"}
    assert b"Secret" not in reply.body
    assert tree_digest(ro_api.root, ro_api.outside) == before


def test_a_base_view_is_served_and_only_base_files_are_evaluated(ro_api):
    reply = ro_api.client.get("/bases/videos.base?view=Kitchen%20lab")
    assert reply.status == 200, reply.body
    assert reply.json["view"] == "Kitchen lab" and reply.json["type"] == "list"
    assert {r["path"].split("/")[0] for r in reply.json["rows"]} == {"kitchenlabs"} and len(reply.json["rows"]) == 7
    first = ro_api.client.get("/bases/videos.base").json
    assert first["view"] == "By channel" and [g["key"] for g in first["groups"]] == ["citylayers", "kitchenlabs", "orbitalnotes"]
    assert ro_api.client.get("/bases/api/Hub.md").status == 400  # a note is no base
    for raw in ("../outside/secret.md", "api/leak.md", ".obsidian/app.json"):
        assert ro_api.client.get(f"/bases/videos.base?this={raw}").status == 400, raw
    assert ro_api.client.get("/bases/nope.base").status == 404
    assert ro_api.client.get("/bases/videos.base?view=Nope").status == 422
    assert ro_api.client.post("/bases/videos.base", {}).status == 405


PLAIN_TRAVERSALS = [
    "../outside/secret.md", "api/../../outside/secret.md", "/etc/passwd", str(Path("/tmp").resolve()),
    "..\\outside\\secret.md", "%2e%2e%2foutside%2fsecret.md", "escape/secret.md", "escape/new.md", "api/leak.md",
    ".vaultsync/api.json", ".obsidian/app.json", "", "api/./Hub.md",
]  # fmt: skip


@pytest.mark.parametrize("raw", PLAIN_TRAVERSALS)
def test_writes_outside_the_vault_are_refused_and_touch_nothing(ro_api, raw):
    before = tree_digest(ro_api.root, ro_api.outside)
    bodies = [
        ("/rename", {"from": raw, "to": "api/Moved.md"}),
        ("/rename", {"from": "api/Spoke.md", "to": raw}),
        ("/rename", {"from": "api", "to": raw}),
        ("/normalize", {"path": raw, "write": True}),
        ("/exports", {"format": "epub", "selection": {"notes": [raw]}}),
        ("/exports", {"format": "epub", "selection": {"folders": [raw]}}),
    ]
    for url, body in bodies:
        reply = ro_api.client.post(url, body)
        assert 400 <= reply.status < 500, (url, body, reply.status, reply.body)
        assert set(reply.json) == {"error", "message", "hint"}
    assert tree_digest(ro_api.root, ro_api.outside) == before
    assert (ro_api.root / "api/Spoke.md").exists()


# -- bodies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/normalize", "/exports", "/rename", "/sync"])
def test_bad_bodies_get_a_4xx_and_touch_nothing(ro_api, url):
    before = tree_digest(ro_api.root, ro_api.outside)
    c = ro_api.client
    big = c.post(url, raw=b"{" + b" " * (MAX_BODY + 1) + b"}")
    assert big.status == 413 and big.json["error"] == "body_too_large"
    assert c.post(url, raw=b'{"write": tru').json["error"] == "malformed_json"
    assert c.post(url, raw=b"\xff\xfe{}").status == 400
    assert c.post(url, raw=b"[1, 2]").status == 400
    if url != "/sync":  # it takes no fields
        assert c.post(url, raw=b'{"from": 1, "to": [], "write": "yes", "format": 3, "selection": 4}').status in (400, 422)
    assert c.post(url, raw=b"{}", headers={"Content-Length": "abc"}).status == 400
    assert tree_digest(ro_api.root, ro_api.outside) == before


def test_chunked_bodies_need_a_length(ro_api):
    conn = http.client.HTTPConnection("127.0.0.1", ro_api.server.port, timeout=10)
    conn.putrequest("POST", "/normalize")
    conn.putheader("Authorization", f"Bearer {ro_api.server.token}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"2\r\n{}\r\n0\r\n\r\n")
    resp = conn.getresponse()
    assert resp.status == 411 and json.loads(resp.read())["error"] == "length_required"
    conn.close()


def test_unknown_endpoints_and_methods_are_json_errors(ro_api):
    assert ro_api.client.get("/nope").json["error"] == "not_found"
    reply = ro_api.client.request("DELETE", "/status")
    assert reply.status == 405 and reply.json["error"] == "method_not_allowed"
    assert ro_api.client.get("/exports/../../etc").status == 404


def test_the_allow_header_follows_the_route_table(ro_api):
    """A wrong method on any fixed path gets 405 with the methods the OpenAPI document lists for
    it (the header is derived from the route table, so a new route needs one line)."""
    for path, ops in openapi_document()["paths"].items():
        if "{" in path:
            continue
        methods = {m.upper() for m in ops if m in ("get", "post")}
        expected = ", ".join([*(["GET", "HEAD"] if "GET" in methods else []), *sorted(methods - {"GET"}), "OPTIONS"])
        for method in ("DELETE", "FOO"):  # a method with no do_* at all goes through send_error
            reply = ro_api.client.request(method, path)
            assert reply.status == 405 and reply.headers["allow"] == expected, (method, path)


# -- endpoints ---------------------------------------------------------------------------------------


def test_status(ro_api):
    data = ro_api.client.get("/status").json
    assert data["mode"] == "serve" and data["counts"]["notes"] >= 31
    assert data["daemon"]["running"] is False and data["api"]["port"] == ro_api.server.port
    assert {"epub", "pdf"} <= set(data["exporters"])


def test_links_backlinks_and_unresolved(ro_api):
    c = ro_api.client
    links = c.get("/notes/api%2FHub.md/links").json
    assert links["note"] == "api/Hub.md"
    assert [(r["target"], r["dest"]) for r in links["links"]] == [("Spoke", "api/Spoke.md"), ("Missing Note", None)]
    assert c.get("/notes/links?path=api/Hub").json == links  # .md optional, query form
    back = c.get("/notes/api/Hub.md/backlinks").json  # unencoded slashes work too
    assert {r["source"] for r in back["backlinks"]} >= {"api/Spoke.md", "api/Messy.md"}
    assert [r["target"] for r in c.get("/notes/api%2FHub.md/unresolved").json["unresolved"]] == ["Missing Note"]
    vault_wide = c.get("/unresolved").json["unresolved"]
    assert any(r["target"] == "Missing Note" for r in vault_wide)
    missing = c.get("/notes/api%2FNope.md/backlinks")
    assert missing.status == 404 and missing.json["error"] == "note_not_found"


def test_normalize_diff_only_then_write(api):
    c, note = api.client, api.root / "api/Messy.md"
    before = note.read_text()
    diff = c.post("/normalize", {"path": "api/Messy.md", "write": False}).json
    assert diff["changed"] == ["api/Messy.md"] and diff["written"] is False
    assert "-A link with spaces: [[ Hub ]]." in diff["diffs"][0] and "+A link with spaces: [[Hub]]." in diff["diffs"][0]
    assert note.read_text() == before
    wrote = c.post("/normalize", {"path": "api/Messy", "write": True}).json
    assert wrote["written"] is True and note.read_text() == before.replace("[[ Hub ]]", "[[Hub]]")
    again = c.post("/normalize", {"path": "api/Messy.md", "write": True}).json
    assert again["changed"] == [] and again["written"] is False


def test_normalize_the_whole_vault(api):
    before = tree_digest(api.root)
    diff = api.client.post("/normalize", {"write": False}).json
    assert "api/Messy.md" in diff["changed"] and tree_digest(api.root) == before
    before_outside = tree_digest(api.outside)
    wrote = api.client.post("/normalize", {"write": True}).json
    assert tree_digest(api.outside) == before_outside and (api.root / "api/leak.md").is_symlink()
    assert wrote["written"] is True and "[[Hub]]" in (api.root / "api/Messy.md").read_text()
    assert api.client.post("/normalize", {"write": False}).json["changed"] == []


def test_rename_updates_links_and_the_index(api):
    c = api.client
    outside = tree_digest(api.outside)
    reply = c.post("/rename", {"from": "api/Hub.md", "to": "api/Center.md"})
    assert reply.status == 200, reply.body
    data = reply.json
    assert data["moved"] == {"api/Hub.md": "api/Center.md"} and data["links_updated"] >= 2
    assert not (api.root / "api/Hub.md").exists() and (api.root / "api/Center.md").exists()
    assert "[[Center]]" in (api.root / "api/Spoke.md").read_text()
    assert tree_digest(api.outside) == outside  # api/leak.md links to Hub, but lives outside: not written
    # a symlink out of the vault is not part of it (the walk skips it): no link of it is looked at
    assert "api/leak.md" not in data["notes_updated"]
    back = c.get("/notes/api%2FCenter.md/backlinks").json["backlinks"]
    assert {r["source"] for r in back} >= {"api/Spoke.md", "api/Messy.md"}
    assert c.get("/notes/api%2FHub.md/links").status == 404
    taken = c.post("/rename", {"from": "api/Spoke.md", "to": "api/Center.md"})
    assert taken.status == 422 and taken.json["hint"] is None or "exists" in taken.json["message"]
    assert c.post("/rename", {"from": "api/Nope.md", "to": "api/X.md"}).status == 404


def test_export_job_progress_and_result(api):
    c = api.client
    started = c.post("/exports", {"format": "epub", "title": "API book", "selection": {"folders": ["api"]}})
    assert started.status == 202, started.body
    job = started.json
    assert started.headers["location"] == f"/exports/{job['id']}" and job["state"] in ("queued", "running", "done")
    deadline = time.monotonic() + 60
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = c.get(f"/exports/{job['id']}").json
    assert job["state"] == "done", job
    assert job["progress"] == {"done": 3, "total": 3} and job["result"]["filename"] == "API book.epub"
    result = c.get(job["result"]["url"])
    assert result.status == 200 and result.headers["content-type"] == "application/epub+zip"
    assert len(result.body) == job["result"]["size"]
    book = zipfile.ZipFile(io.BytesIO(result.body))
    assert book.read("mimetype") == b"application/epub+zip"
    text = b"".join(book.read(n) for n in book.namelist())
    assert b"Spoke" in text and b"Secret" not in text  # api/leak.md links to a file outside: left out
    assert c.get("/exports/999-00000000").status == 404
    assert c.post("/exports", {"format": "docx"}).status == 422
    assert c.post("/exports", {"format": "epub", "selection": {"tags": ["no-such-tag-anywhere"]}}).status == 422


def test_an_unfinished_export_has_no_result_yet(api):
    gate = threading.Event()
    api.server.api._executor.submit(gate.wait)  # occupy both job workers
    api.server.api._executor.submit(gate.wait)
    try:
        job = api.client.post("/exports", {"format": "epub", "selection": {"notes": ["api/Hub.md"]}}).json
        reply = api.client.get(f"/exports/{job['id']}/result")
        assert reply.status == 409 and reply.json["error"] == "job_not_ready"
    finally:
        gate.set()


def test_sync_outside_a_git_repository_is_a_json_error(api):
    reply = api.client.post("/sync")
    assert reply.status == 409 and reply.json["error"] == "git" and reply.json["hint"]


def test_sync_now_with_a_remote(api, tmp_path):
    def git(*args: str, cwd: Path = api.root) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)

    remote = tmp_path / "remote.git"
    git("init", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    git("init", "-b", "main")
    git("remote", "add", "origin", str(remote))
    reply = api.client.post("/sync")
    assert reply.status == 200, reply.body
    assert reply.json["pushed"] is True
    assert subprocess.run(["git", "log", "--oneline"], cwd=remote, capture_output=True, text=True, check=True).stdout.strip()


# -- limits: timeouts, bounded threads, hostile request lines ---------------------------------------


def _connect(port: int, data: bytes = b"", timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if data:
        sock.sendall(data)
    return sock


def _read_to_eof(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as the close)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _json_body(raw: bytes) -> Any:
    return json.loads(raw.partition(b"\r\n\r\n")[2])


def test_idle_connections_hold_no_threads_and_a_probe_is_still_answered(ro_api):
    port = ro_api.server.port
    baseline = threading.active_count()
    silent = [_connect(port) for _ in range(150)]  # connected, never a byte
    kept: list[http.client.HTTPConnection] = []
    for _ in range(150):  # one request each, then idle on a keep-alive connection
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/status", headers={"Authorization": f"Bearer {ro_api.server.token}"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Connection") != "close"
        resp.read()
        kept.append(conn)
    try:
        time.sleep(0.3)  # let the server accept the last of them
        assert ro_api.client.get("/status").status == 200  # a new client is answered
        kept[0].request("GET", "/status", headers={"Authorization": f"Bearer {ro_api.server.token}"})
        assert kept[0].getresponse().status == 200  # and so is an idle one that comes back
        assert threading.active_count() - baseline <= 64, threading.active_count() - baseline
    finally:
        for sock in silent:
            sock.close()
        for conn in kept:
            conn.close()


def test_silent_and_idle_keep_alive_connections_are_closed(ro_api, monkeypatch):
    monkeypatch.setattr(accept_mod, "FIRST_BYTE_TIMEOUT_S", 1.0)
    monkeypatch.setattr(accept_mod, "IDLE_TIMEOUT_S", 1.0)
    silent = _connect(ro_api.server.port)
    kept = _connect(ro_api.server.port, f"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ro_api.server.token}\r\n\r\n".encode())
    started = time.monotonic()
    assert _read_to_eof(silent) == b""  # closed, nothing said
    assert _read_to_eof(kept).startswith(b"HTTP/1.1 200")  # its answer, then the close
    assert time.monotonic() - started < 4
    assert accept_mod.IDLE_TIMEOUT_S == 1.0 and 0 < accept_mod.FIRST_BYTE_TIMEOUT_S  # the real ones are set


def test_a_slow_header_connection_is_closed_after_the_timeout(ro_api, monkeypatch):
    monkeypatch.setattr(connection_mod, "HEADER_TIMEOUT_S", 1.0)
    sock = _connect(ro_api.server.port, b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    with contextlib.suppress(OSError):
        for _ in range(20):  # a byte every 0.2 s: no single read waits long, the whole does
            time.sleep(0.2)
            sock.sendall(b"X")
    _assert_timed_out(sock, started)


def test_an_unfinished_body_times_out(ro_api, monkeypatch):
    monkeypatch.setattr(connection_mod, "BODY_TIMEOUT_S", 1.0)
    head = (f"POST /normalize HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ro_api.server.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"write\": ")  # fmt: skip
    _assert_timed_out(_connect(ro_api.server.port, head.encode()), time.monotonic())


def _assert_timed_out(sock: socket.socket, started: float) -> None:
    """The server answered 408 request_timeout and closed, within 5 s of ``started``."""
    reply = _read_to_eof(sock)
    sock.close()
    assert time.monotonic() - started < 5
    assert reply.startswith(b"HTTP/1.1 408") and _json_body(reply)["error"] == "request_timeout"


def test_a_request_is_refused_with_503_when_every_worker_is_busy(tmp_path, monkeypatch):
    monkeypatch.setattr(accept_mod, "MAX_WORKERS", 2)
    monkeypatch.setattr(connection_mod, "BODY_TIMEOUT_S", 1.0)
    root, _ = _build_vault(tmp_path)
    server = _start(root)
    try:
        client = Client(server.port, server.token)
        # a slow body holds a worker, for a while (a slow head does not: the accept loop reads it)
        head = (f"POST /normalize HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{").encode()  # fmt: skip
        slow = [_connect(server.port, head) for _ in range(2)]
        time.sleep(0.3)
        busy = client.get("/status")
        assert busy.status == 503 and busy.json["error"] == "busy" and set(busy.json) == {"error", "message", "hint"}
        for sock in slow:
            assert _read_to_eof(sock).startswith(b"HTTP/1.1 408")
            sock.close()
        assert client.get("/status").status == 200  # the workers are free again
    finally:
        server.stop()
        server.host.indexer.index.close()


def test_deeply_nested_json_is_malformed_not_a_crash(ro_api):
    for raw in (b"[" * 100_000, b'{"a": ' * 100_000, b"[" * 100_000 + b"]" * 100_000):
        reply = ro_api.client.post("/normalize", raw=raw)
        assert reply.status == 400 and reply.json["error"] == "malformed_json", reply.body[:200]


def test_oversized_headers_get_a_json_431(ro_api):
    for headers in ({"X-Big": "a" * 100_000}, {f"X-Many-{i}": "a" for i in range(200)}):
        reply = ro_api.client.get("/status", headers=headers)
        assert reply.status == 431 and set(reply.json) == {"error", "message", "hint"}, reply.body[:200]
    huge_line = ro_api.client.get("/status?" + "a" * 70_000)
    assert huge_line.status == 414 and set(huge_line.json) == {"error", "message", "hint"}


def test_request_targets_other_than_a_path_are_checked(ro_api):
    c, port = ro_api.client, ro_api.server.port
    foreign = c.get("http://evil.example/status", headers={"Host": f"127.0.0.1:{port}"})  # Host is ours, the target not
    assert foreign.status == 421 and foreign.json["error"] == "wrong_host"
    assert c.get(f"http://127.0.0.1:{port}/status").status == 200  # absolute-form for this server: accepted
    assert c.get("//evil.example/status").status == 404  # a path, not an authority
    for target in ("evil.example/status", "*", "status"):
        reply = c.get(target)
        assert reply.status == 400 and set(reply.json) == {"error", "message", "hint"}, (target, reply.status)


def _finished(c: Client, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = c.get(f"/exports/{job['id']}").json
    return job


def test_a_bad_export_option_is_the_clients_error(api):
    started = api.client.post("/exports", {"format": "anki", "selection": {"folders": ["api"]}, "options": {"heading_level": "x"}})
    assert started.status == 202, started.body
    job = _finished(api.client, started.json)
    assert job["state"] == "failed" and job["error"]["error"] == "config", job  # 4xx-style (422), not "internal"
    assert "heading_level" in job["error"]["message"]


def test_an_export_with_a_very_long_title(api):
    title = "Ünïcode title " * 360  # 5,040 characters, 5,760 bytes
    started = api.client.post("/exports", {"format": "epub", "title": title, "selection": {"folders": ["api"]}})
    assert started.status == 202, started.body
    job = _finished(api.client, started.json)
    assert job["state"] == "done", job
    name = job["result"]["filename"]
    assert name.endswith(".epub") and len(name.encode()) <= 255 and name.startswith("Ünïcode title")
    result = api.client.get(job["result"]["url"])
    assert result.status == 200
    book = zipfile.ZipFile(io.BytesIO(result.body))
    assert any(title.strip().encode() in book.read(n) for n in book.namelist())  # the whole title, inside


def test_stop_lets_a_running_export_finish_before_closing_its_index(tmp_path):
    root, _ = _build_vault(tmp_path)
    server = _start(root)
    try:
        job = Client(server.port, server.token).post("/exports", {"format": "epub", "selection": {"folders": ["api"]}}).json
    finally:
        server.stop()  # closing the read connections under the job crashed the process
        server.host.indexer.index.close()
    assert server.api.jobs[job["id"]].state != "running"


# -- the OpenAPI document, with schemathesis ---------------------------------------------------------

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402 - after the importorskip above
from schemathesis.checks import positive_data_acceptance  # noqa: E402

from vaultsync.api.openapi import openapi_document  # noqa: E402

schema = schemathesis.openapi.from_dict(openapi_document())


def test_openapi_document_is_served_and_lists_every_route(ro_api):
    doc = ro_api.client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert {"/status", "/notes/{path}/backlinks", "/bases/{path}", "/normalize", "/exports", "/exports/{id}/result", "/rename", "/sync"} <= set(doc["paths"])


@schema.exclude(path="/sync").parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_schemathesis(case, ro_api):
    # Path rules beyond the schema's pattern ('..' segments, symlinks) and notes that do not exist
    # reject schema-valid requests on purpose, so that one check is left out.
    case.call_and_validate(base_url=f"http://127.0.0.1:{ro_api.server.port}",
                           headers={"Authorization": f"Bearer {ro_api.server.token}"},
                           excluded_checks=[positive_data_acceptance])  # fmt: skip


# -- inside the daemon, under load -------------------------------------------------------------------


def _wait(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_concurrent_requests_while_the_daemon_processes_edits(tmp_path):
    root, outside = _build_vault(tmp_path)
    settings_ = replace(Settings(), watch=WatchSettings(quiet_ms=50, max_wait_ms=300), api=replace(Settings().api, enabled_in_watch=True))
    daemon = Daemon(Vault(root), settings_)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        api_file = root / ".vaultsync" / API_FILE
        _wait(lambda: daemon.state == "watching" and api_file.exists())
        info = json.loads(api_file.read_text())
        client = Client(info["port"], info["token"])
        assert client.get("/status").json["mode"] == "watch"
        failures: list[object] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                for url in ("/notes/api%2FHub.md/backlinks", "/status", "/notes/api%2FHub.md/links"):
                    reply = client.get(url)
                    if reply.status != 200:
                        failures.append((url, reply.status, reply.body))

        workers = [threading.Thread(target=hammer) for _ in range(8)]
        for w in workers:
            w.start()
        for i in range(20):
            write_file(root / f"api/new/Edit {i}.md", f"# Edit {i}\n\nPoints at [[ Hub ]].\n")
            time.sleep(0.02)
        renamed = client.post("/rename", {"from": "api/Spoke.md", "to": "api/Spoke2.md"})
        _wait(lambda: len(client.get("/notes/api%2FHub.md/backlinks").json["backlinks"]) >= 22)
        stop.set()
        for w in workers:
            w.join()
        assert not failures, failures[:3]
        assert renamed.status == 200, renamed.body
        sources = {r["source"] for r in client.get("/notes/api%2FHub.md/backlinks").json["backlinks"]}
        assert {"api/Spoke2.md", "api/new/Edit 0.md", "api/new/Edit 19.md"} <= sources
        _wait(lambda: "[[Hub]]" in (root / "api/new/Edit 19.md").read_text())  # the daemon normalized it
        assert (outside / "secret.md").read_text() == "# Secret\n\n[[Hub]]\n"
    finally:
        daemon.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()


# -- the command line --------------------------------------------------------------------------------


def test_vaultsync_serve_runs_until_sigterm(tmp_path):
    root, _ = _build_vault(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "vaultsync", "serve", str(root), "--refresh", "0.2"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        api_file = root / ".vaultsync" / API_FILE
        _wait(lambda: api_file.exists() and json.loads(api_file.read_text()).get("pid") == proc.pid, 30)
        info = json.loads(api_file.read_text())
        client = Client(info["port"], info["token"])
        assert client.get("/status").status == 200
        write_file(root / "api/Later.md", "[[Hub]]\n")  # an edit made outside the API is caught up with
        _wait(lambda: any(r["source"] == "api/Later.md" for r in client.get("/notes/api%2FHub.md/backlinks").json["backlinks"]))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


# -- the Obsidian plugin, built and tested against this backend --------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_plugin_builds_and_its_tests_pass_against_the_real_backend():
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node are not installed")
    plugin = REPO / "plugin"
    env = {**os.environ, "VAULTSYNC_PYTHON": sys.executable}
    for cmd in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build"], ["npm", "test"]):
        result = subprocess.run(cmd, cwd=plugin, env=env, capture_output=True, text=True, timeout=500, check=False)
        assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
