"""Shared pieces of bench/faults.py: real CLI processes, temp vaults, bounded waits, results."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANCHOR = '<a class="yt-timestamp" data-t="00:01:05">[00:01:05]</a>'
SPACED = "[[ spaced link ]]"
TEMP_SUFFIX = ".vaultsync-tmp"
ENV = dict(
    os.environ,
    PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    GIT_AUTHOR_NAME="faults",
    GIT_AUTHOR_EMAIL="faults@example.com",
    GIT_COMMITTER_NAME="faults",
    GIT_COMMITTER_EMAIL="faults@example.com",
    NO_COLOR="1",
    TERM="dumb",
)


@dataclass
class Result:
    """One row of the table: an attack, how often it was tried, how often the invariant held."""

    attack: str
    tries: int = 0
    held: int = 0
    skipped: str = ""
    note: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def broken(self) -> int:
        return self.tries - self.held

    def check(self, ok: bool, why: str = "") -> bool:
        self.tries += 1
        if ok:
            self.held += 1
        elif len(self.failures) < 8:
            self.failures.append(why)
        return ok

    def as_json(self) -> dict:
        return {
            "attack": self.attack,
            "tries": self.tries,
            "held": self.held,
            "broken": self.broken,
            "skipped": self.skipped or None,
            "note": self.note or None,
            "failures": self.failures,
        }


def default_source() -> Path:
    fixtures = REPO.parent / "shared" / "fixtures" / "tubegraph-sample"
    return fixtures if fixtures.is_dir() else REPO / "vault"


@contextmanager
def temp_dir(tag: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"vsf-{tag}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def copy_vault(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True, ignore=shutil.ignore_patterns(".vaultsync", ".git", ".trash"))
    return dest


def notes_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if p.is_file() and not p.is_symlink() and not any(s.startswith(".") for s in p.relative_to(root).parts))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in notes_of(root)}


def temp_leftovers(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob(f"*{TEMP_SUFFIX}*") if ".git" not in p.parts]


def cli(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vaultsync ARGS`` to completion (killed on timeout)."""
    proc = spawn(*args)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return subprocess.CompletedProcess(proc.args, -999, out, err + "\n[faults: timed out]")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def spawn(*args: str | Path, quiet: bool = False) -> subprocess.Popen[str]:
    sink = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, "-m", "vaultsync", *map(str, args)],
        cwd=str(REPO),
        env=ENV,
        stdout=sink,
        stderr=sink,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """SIGKILL the process's whole group (it leads its own session), then reap it."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def group_alive(pgid: int) -> list[int]:
    """Pids still in process group ``pgid`` (zombies excluded)."""
    alive = []
    if not os.path.isdir("/proc"):
        return alive
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            alive.append(int(entry))
    return alive


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.01) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def daemon_state(root: Path) -> dict:
    try:
        return json.loads((root / ".vaultsync" / "daemon.json").read_text())
    except (OSError, ValueError):
        return {}


def start_daemon(root: Path, *extra: str, timeout: float = 30) -> subprocess.Popen[str]:
    """Start ``vaultsync watch`` and wait until its own status file says it is watching."""
    try:
        (root / ".vaultsync" / "daemon.json").unlink()
    except OSError:
        pass
    proc = spawn("watch", root, *extra, quiet=True)
    ok = wait_until(
        lambda: proc.poll() is not None or (daemon_state(root).get("state") == "watching" and daemon_state(root).get("pid") == proc.pid), timeout, 0.02
    )
    if not ok or proc.poll() is not None:
        kill_group(proc)
        raise RuntimeError(f"daemon did not start on {root} (exit {proc.returncode})")
    return proc


def stop_daemon(proc: subprocess.Popen, timeout: float = 5) -> float | None:
    """SIGTERM; the seconds it took to exit, or None if it did not within ``timeout`` (then SIGKILL)."""
    if proc.poll() is not None:
        return 0.0
    started = time.monotonic()
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
        return time.monotonic() - started
    except subprocess.TimeoutExpired:
        return None
    finally:
        kill_group(proc)


def video_id(text: str) -> str | None:
    m = re.search(r"^videoId:\s*['\"]?([\w-]{11})", text, re.M)
    return m.group(1) if m else None


def normalized_forms(text: str, vid: str | None) -> set[str]:
    """What the normalizer may make of our own line in a note that was normalized before."""
    forms = {text}
    if vid:
        for label in ("01:05", "00:01:05"):
            forms.add(text.replace(ANCHOR, f"[{label}](https://www.youtube.com/watch?v={vid}&t=65s)").replace(SPACED, "[[spaced link]]"))
    return forms


def http_raw(port: int, request: bytes, timeout: float = 10) -> tuple[int | None, bytes, str]:
    """Send raw bytes, read to EOF; (status or None, body, error text)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            try:
                sock.sendall(request)
            except OSError:  # the server may answer (431, 413) and close before it read everything
                pass
            chunks = []
            while True:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError as exc:
                    if chunks:
                        break
                    return None, b"", f"reset: {exc}"
                if not data:
                    break
                chunks.append(data)
    except OSError as exc:
        return None, b"", str(exc)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not m:
        return None, raw, "no HTTP response" if not raw else "malformed response"
    return int(m.group(1)), body, ""


def request(
    port: int, token: str, method: str, target: str, body: object | None = None, raw_body: bytes | None = None, headers: str = ""
) -> tuple[int | None, bytes, str]:
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Connection: close\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n{headers}\r\n"
    )
    return http_raw(port, head.encode("latin-1") + data)


def prepare_notes(root: Path) -> list[Path]:
    """Normalize the vault with the real CLI and return the notes where our appended line is
    normalized as expected (a note ending inside a code fence, excluded by userIgnoreFilters or
    without a video id would keep it as written). Leaves the vault normalized and indexed."""
    probes: dict[Path, str] = {}
    for i, path in enumerate(notes_of(root)):
        text = path.read_bytes().decode("utf-8", "replace")
        if video_id(text):
            probes[path] = f"calib-{i}"
            path.write_text(text + ("" if text.endswith("\n") else "\n") + f"calib-{i} {ANCHOR} {SPACED}\n", encoding="utf-8")
    cli("normalize", root, timeout=300)
    good = []
    for path, tag in probes.items():
        text = path.read_bytes().decode("utf-8", "replace")
        lines = text.splitlines(keepends=True)
        hit = [k for k, line in enumerate(lines) if line.startswith(tag + " ")]
        if not hit:
            continue
        line = lines[hit[0]].rstrip("\r\n")
        raw = f"{tag} {ANCHOR} {SPACED}"
        if line != raw and line in normalized_forms(raw, video_id(text)):
            good.append(path)
        del lines[hit[0]]
        path.write_bytes("".join(lines).encode("utf-8"))
    cli("scan", root, timeout=300)
    return good
