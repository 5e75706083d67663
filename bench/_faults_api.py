"""Attack 4 of bench/faults.py: hostile requests against a real ``vaultsync serve``.

A vault copy gets ``out.md -> <outside>/secret.md``, ``outdir -> <outside>/dir`` and a note
embedding them; the outside notes carry ``SECRET`` markers and text the normalizer would rewrite.
Invariants:

- traversal: every path form (``..``, ``%2e%2e``, ``%252e``, absolute, backslashes, hidden
  folders, NUL, the symlinks; each with and without ``.md``) on every note endpoint (path and
  query forms), POST /normalize (write false and true), POST /rename (as source and as target)
  and POST /exports: the answer is a 4xx (a 2xx only for a JSON string that is a harmless
  vault-relative name, such as a literal ``%2e%2e`` folder), never a 5xx or a dropped
  connection, never contains ``SECRET``; exports of notes embedding the outside ones carry no
  ``SECRET``; after every request the outside files have their bytes and names.
- idle load: 300+ idle or half-sent connections; GET /status still answers within 2 s and the
  server's thread count (/proc/<pid>/status) stays <= 72.
- malformed: nested JSON -> 400, a huge header line and too many headers -> 431 or 400 with a
  JSON error body, an absolute-form request line -> a JSON answer below 500, no token -> 401.
"""

from __future__ import annotations

import io
import json
import socket
import time
import urllib.parse
import zipfile
from pathlib import Path

from _faults_common import ANCHOR, SPACED, Result, copy_vault, http_raw, kill_group, request, spawn, temp_dir, wait_until

SECRET_FM = "---\nvideoId: abcdefghijk\n---\n"


def outside_state(outside: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outside)): p.read_bytes() for p in sorted(outside.rglob("*")) if p.is_file()}


def payloads(outside: Path) -> list[tuple[str, bool]]:
    """(path, harmless_as_json_string): the second is True when the decoded JSON string names a
    legitimate in-vault file (percent signs are ordinary characters there)."""
    base = [
        ("../outside/secret", False),
        ("../../../../etc/passwd", False),
        ("/etc/passwd", False),
        (str(outside / "secret"), False),
        ("..\\outside\\secret", False),
        ("sub/../../outside/secret", False),
        ("..", False),
        ("./../outside/secret", False),
        (".hidden/h", False),
        (".obsidian/app", False),
        ("out", False),
        ("outdir/inner", False),
        ("outdir", False),
        ("x\x00y", False),
        ("\\\\host\\share\\x", False),
        ("%2e%2e/outside/secret", True),
        ("%2e%2e%2foutside%2fsecret", True),
        ("%252e%252e/outside/secret", True),
        ("..%5coutside%5csecret", True),
        ("%2fetc%2fpasswd", True),
        ("%00", True),
    ]
    out = []
    for path, harmless in base:
        out.append((path, harmless))
        if not path.endswith(".md"):
            out.append((path + ".md", harmless or path == "outdir"))  # outdir.md: a plain note name
    return out


def start_server(root: Path) -> tuple:
    (root / ".vaultsync").mkdir(exist_ok=True)
    (root / ".vaultsync" / "api.json").unlink(missing_ok=True)
    proc = spawn("serve", root, "--port", "0", quiet=True)

    def ready() -> dict | None:
        try:
            info = json.loads((root / ".vaultsync" / "api.json").read_text())
        except (OSError, ValueError):
            return None
        return info if info.get("pid") in (proc.pid, None) and info.get("port") else None

    info = wait_until(lambda: proc.poll() is not None or ready(), 60, 0.05)
    if not isinstance(info, dict):
        kill_group(proc)
        raise RuntimeError(f"vaultsync serve did not start (exit {proc.returncode})")
    port, token = int(info["port"]), info["token"]
    wait_until(lambda: request(port, token, "GET", "/status")[0] == 200, 30, 0.1)
    return proc, port, token


def threads_of(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return -1  # no /proc here: the thread count is not checked
    for line in lines:
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def attack_api(source: Path, idle: int = 320) -> tuple[list[Result], dict]:
    trav = Result("api: traversal refused, nothing leaked")
    links = Result("api: symlinks out: no read/write/move")
    export = Result("api: exports carry nothing outside")
    load = Result("api: 300+ idle sockets, /status < 2 s")
    bad = Result("api: malformed requests answered")
    figures: dict = {}
    with temp_dir("api") as tmp:
        root = copy_vault(source, tmp / "vault")
        outside = tmp / "outside"
        (outside / "dir").mkdir(parents=True)
        (outside / "secret.md").write_text(SECRET_FM + f"SECRET-1 [[SECRET-LINK]] {ANCHOR} {SPACED}\n", encoding="utf-8")
        (outside / "dir" / "inner.md").write_text(SECRET_FM + f"SECRET-2 [[SECRET-LINK]] {ANCHOR}\n", encoding="utf-8")
        (root / "out.md").symlink_to(outside / "secret.md")
        (root / "outdir").symlink_to(outside / "dir", target_is_directory=True)
        (root / ".hidden").mkdir()
        (root / ".hidden" / "h.md").write_text("SECRET-H [[SECRET-LINK]]\n", encoding="utf-8")
        (root / "embeds.md").write_text(
            SECRET_FM + "# Embeds\n\n## Outside\n\n![[out]]\n\n![[outdir/inner]]\n\n![[../outside/secret]]\n\n![[.hidden/h]]\n", encoding="utf-8"
        )
        (root / "victim.md").write_text(SECRET_FM + "victim\n", encoding="utf-8")
        before = outside_state(outside)
        proc, port, token = start_server(root)
        try:

            def outside_intact() -> bool:
                return outside_state(outside) == before

            def verdict(row: Result, what: str, status: int | None, body: bytes, err: str, ok_2xx: bool) -> None:
                fine = status is not None and (400 <= status < 500 or (ok_2xx and 200 <= status < 300))
                leaked = b"SECRET" in body
                intact = outside_intact()
                row.check(
                    fine and not leaked and intact, f"{what}: {status or err} {'LEAKED ' if leaked else ''}{'' if intact else 'OUTSIDE CHANGED '}{body[:90]!r}"
                )
                if not (root / "victim.md").exists():
                    (root / "victim.md").write_text(SECRET_FM + "victim\n", encoding="utf-8")

            for k, (path, harmless) in enumerate(payloads(outside)):
                row = links if path.split(".md")[0] in ("out", "outdir", "outdir/inner") else trav
                for enc in (urllib.parse.quote(path, safe="/%\\"), urllib.parse.quote(path, safe="%")):
                    for tail in ("links", "backlinks", "unresolved"):
                        verdict(row, f"GET /notes/{enc}/{tail}", *request(port, token, "GET", f"/notes/{enc}/{tail}"), path == "outdir.md")
                q = urllib.parse.quote(path, safe="%")
                verdict(row, f"GET /notes/links?path={q}", *request(port, token, "GET", f"/notes/links?path={q}"), path == "outdir.md")
                for write in (False, True):
                    verdict(
                        row, f"POST /normalize {path!r} write={write}", *request(port, token, "POST", "/normalize", {"path": path, "write": write}), harmless
                    )
                verdict(row, f"POST /rename from {path!r}", *request(port, token, "POST", "/rename", {"from": path, "to": f"moved-{k}.md"}), harmless)
                verdict(row, f"POST /rename to {path!r}", *request(port, token, "POST", "/rename", {"from": "victim.md", "to": path}), harmless)
                verdict(
                    row,
                    f"POST /exports notes={path!r}",
                    *request(port, token, "POST", "/exports", {"format": "anki", "selection": {"notes": [path]}}),
                    harmless,
                )
            for sel in ({"notes": ["embeds"]}, {"notes": ["embeds"], "depth": 2}, {"folders": ["outdir"]}, {"folders": [""]}):
                status, body, err = request(port, token, "POST", "/exports", {"format": "anki", "selection": sel, "title": "t"})
                if status != 202:
                    export.check(status is not None and status < 500 and b"SECRET" not in body, f"export {sel}: {status or err} {body[:90]!r}")
                    continue
                job = json.loads(body).get("id")
                state = wait_until(
                    lambda: (
                        json.loads(request(port, token, "GET", f"/exports/{job}")[1] or b"{}").get("state")  # noqa: B023 (called at once)
                        in ("done", "failed", "error")
                    ),
                    120,
                    0.2,
                )
                status, data, err = request(port, token, "GET", f"/exports/{job}/result")
                export.check(
                    bool(state) and not contains_secret(data) and outside_intact(),
                    f"export {sel}: result {status or err}, secret {'found' if contains_secret(data) else 'absent'}",
                )

            # -- idle and slow connections
            socks: list[socket.socket] = []
            try:
                for i in range(idle):
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    if i % 2:
                        s.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    socks.append(s)
                time.sleep(1.0)
                t0 = time.monotonic()
                status, body, err = request(port, token, "GET", "/status")
                took = time.monotonic() - t0
                threads = threads_of(proc.pid)
                figures.update({"idle_sockets": len(socks), "status_under_idle_load_s": round(took, 3), "server_threads_under_idle_load": threads})
                load.check(status == 200 and took <= 2.0, f"/status with {len(socks)} idle sockets: {status or err} in {took:.2f} s")
                if threads < 0:
                    load.note = "no /proc: thread count unchecked"
                else:
                    load.check(threads <= 72, f"{threads} server threads with {len(socks)} idle sockets")
            except OSError as exc:
                load.check(False, f"could not open the idle sockets: {exc}")
            finally:
                for s in socks:
                    s.close()

            # -- malformed requests
            def json_error(body: bytes) -> bool:
                try:
                    return "error" in json.loads(body)
                except ValueError:
                    return False

            deep = b'{"a":' * 30000 + b"1" + b"}" * 30000
            status, body, err = request(port, token, "POST", "/normalize", raw_body=deep)
            bad.check(status == 400 and json_error(body), f"nested JSON object: {status or err} {body[:80]!r}")
            status, body, err = request(port, token, "POST", "/normalize", raw_body=b"[" * 100000 + b"]" * 100000)
            bad.check(status == 400 and json_error(body), f"nested JSON array: {status or err} {body[:80]!r}")
            status, body, err = request(port, token, "GET", "/status", headers=f"X-Big: {'a' * 100_000}\r\n")
            bad.check(status in (400, 431) and json_error(body), f"100 KB header: {status or err} {body[:80]!r}")
            many = "".join(f"X-H{i}: v\r\n" for i in range(300))
            status, body, err = request(port, token, "GET", "/status", headers=many)
            bad.check(status in (400, 431) and json_error(body), f"300 headers: {status or err} {body[:80]!r}")
            status, body, err = http_raw(
                port, f"GET http://evil.example/status HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode()
            )
            bad.check(status is not None and status < 500 and json_error(body) or status == 200, f"absolute-form request line: {status or err} {body[:80]!r}")
            status, body, err = http_raw(port, b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            bad.check(status == 401 and json_error(body), f"no token: {status or err}")
            status, body, err = request(port, token, "POST", "/normalize", raw_body=b'{"path": "' + b"a" * (1 << 21) + b'"}')
            bad.check(status == 413 and json_error(body), f"2 MiB body: {status or err}")
            alive = request(port, token, "GET", "/status")[0] == 200 and proc.poll() is None
            bad.check(alive, "the server no longer answers after the malformed requests")
        finally:
            kill_group(proc)
        links.check(outside_state(outside) == before and (outside / "dir" / "inner.md").exists(), "outside files changed or moved")
    return [trav, links, export, load, bad], figures


def contains_secret(data: bytes) -> bool:
    if b"SECRET" in data:
        return True
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(b"SECRET" in zf.read(name) for name in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
