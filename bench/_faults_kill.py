"""Attack 2 of bench/faults.py: kill -9 of the daemon, of ``vaultsync normalize`` and of ``vaultsync sync``.

Invariants, checked after every kill and after the restart (the same command run again):

- daemon: killed 0-400 ms after a batch of 5 saves (some in place, some by rename). Each saved
  note is valid UTF-8 and either the editor's save or its normalized form (never the text before
  the save: that is a lost save); after the restart no ``.vaultsync-tmp`` file is left and every
  save of the batch is on disk, normalized.
- normalize: on a vault big enough for worker processes (the notes three times over), the parent
  alone is SIGKILLed at a random point of the run. For 2 s after, no note's mtime moves (no
  orphaned worker writes); every note is valid UTF-8 and equal to its old text or to what a full
  run makes of it; the next run exits 0, leaves no temp file and gives the full run's result.
- sync: a laptop vault (``sync --remote``) and a desktop clone share a local bare remote; each
  round edits notes on both sides, then the laptop's sync is killed at a random moment or when
  ``.git/index.lock``, ``.git/HEAD.lock`` or ``.git/rebase-merge`` appears or a push runs. After
  the kill every note is valid UTF-8, its old or new text, without conflict markers; the next sync
  exits 0 (not stuck), leaves no rebase, lock or temp file, and every local edit so far is in the
  working tree, in HEAD and on the remote, and every remote edit in the working tree.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from _faults_common import (
    ANCHOR,
    ENV,
    SPACED,
    Result,
    cli,
    copy_vault,
    group_alive,
    kill_group,
    normalized_forms,
    notes_of,
    prepare_notes,
    snapshot,
    spawn,
    start_daemon,
    temp_dir,
    temp_leftovers,
    video_id,
    wait_until,
)


def attack_kills(source: Path, kills: int, rng: random.Random) -> tuple[list[Result], dict]:
    n_daemon, n_norm = round(kills * 0.45), round(kills * 0.22)  # normalize points cost the most (2 s watch + rerun)
    t0 = time.monotonic()
    rows = kill_daemon(source, n_daemon, rng)
    t1 = time.monotonic()
    rows += kill_normalize(source, n_norm, rng)
    t2 = time.monotonic()
    sync_rows, figs = kill_sync(source, kills - n_daemon - n_norm, rng)
    figs.update({"kill_daemon_s": round(t1 - t0, 1), "kill_normalize_s": round(t2 - t1, 1), "kill_sync_s": round(time.monotonic() - t2, 1)})
    figs["kill_points"] = rows[0].tries + rows[2].tries + figs.get("sync_kill_points", 0)
    return rows + sync_rows, figs


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def kill_daemon(source: Path, points: int, rng: random.Random) -> list[Result]:
    after = Result("kill -9 daemon: notes intact, no lost save")
    restart = Result("kill -9 daemon: restart cleans + normalizes")
    with temp_dir("kdaemon") as tmp:
        root = copy_vault(source, tmp / "vault")
        notes = prepare_notes(root)
        if len(notes) < 5:
            after.skipped = restart.skipped = "fewer than 5 notes with a videoId"
            return [after, restart]
        pending: dict[Path, str] = {}
        for i in range(points + 1):
            proc = start_daemon(root)
            try:
                if pending:  # the restart of the previous kill point
                    time.sleep(0.3)
                    left = temp_leftovers(root)
                    ok = wait_until(lambda: all(normalized_forms_done(p, m) for p, m in pending.items()), 5.0, 0.05)  # noqa: B023
                    restart.check(
                        not left and bool(ok),
                        f"point {i - 1}: temp files {left[:3]}" if left else f"point {i - 1}: a save of the batch not on disk normalized after the restart",
                    )
                if i == points:
                    break
                batch = rng.sample(notes, 5)
                expected: dict[Path, set[str]] = {}
                pending = {}
                for path in batch:
                    text = path.read_bytes().decode("utf-8", "replace")
                    marker = f"kill-{i}-{uuid.uuid4().hex}"
                    new = text + ("" if text.endswith("\n") else "\n") + f"{marker} {ANCHOR} {SPACED}\n"
                    write(path, new, rng.random() < 0.5)
                    expected[path] = normalized_forms(new, video_id(new))
                    pending[path] = marker
                    time.sleep(rng.uniform(0, 0.03))
                time.sleep(rng.uniform(0, 0.4))
            finally:
                kill_group(proc)
            bad = [
                f"{p.name}: {'not UTF-8' if _utf8(p.read_bytes()) is None else 'neither the save nor its normalized form'}"
                for p, forms in expected.items()
                if _utf8(p.read_bytes()) not in forms
            ]
            after.check(not bad, f"point {i}: {bad[:2]}")
    return [after, restart]


def normalized_forms_done(path: Path, marker: str) -> bool:
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        if line.startswith(marker + " "):
            return ANCHOR not in line and SPACED not in line
    return False


def write(path: Path, text: str, atomic: bool) -> None:
    if atomic:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_bytes(text.encode("utf-8"))
        os.replace(tmp, path)
    else:
        with open(path, "r+b") as fh:
            fh.truncate(0)
            fh.write(text.encode("utf-8"))


def kill_normalize(source: Path, points: int, rng: random.Random) -> list[Result]:
    intact = Result("kill -9 normalize: notes old or normalized")
    orphans = Result("kill -9 normalize: no write after parent died")
    rerun = Result("kill -9 normalize: rerun exits 0, complete")
    cleaned = Result("kill -9 normalize: no temp file after rerun")
    with temp_dir("knorm") as tmp:
        base = tmp / "base"
        copies = max(2, -(-260 // max(1, len(notes_of(source)))))
        for k in range(copies):  # >= 256 notes: the run uses worker processes
            copy_vault(source, base / f"copy{k}")
        ref_root = copy_vault(base, tmp / "ref")
        t0 = time.monotonic()
        cli("normalize", ref_root, timeout=300)
        duration = time.monotonic() - t0
        ref = snapshot(ref_root)
        root = copy_vault(base, tmp / "vault")
        old = snapshot(root)
        for i in range(points):
            proc = spawn("normalize", root, quiet=True)
            try:
                time.sleep(rng.uniform(0.15, max(0.3, duration)))
                os.kill(proc.pid, signal.SIGKILL)  # the parent alone: its workers must not go on
                proc.wait(timeout=10)
                mtimes = {p: p.stat().st_mtime_ns for p in notes_of(root)}
                time.sleep(2.0)
                moved = [str(p.relative_to(root)) for p, m in mtimes.items() if not p.exists() or p.stat().st_mtime_ns != m]
                workers = group_alive(proc.pid)
                orphans.check(not moved, f"point {i}: {len(moved)} notes written after the parent died ({len(workers)} workers alive), e.g. {moved[:2]}")
            finally:
                kill_group(proc)
            now = snapshot(root)
            bad = [u for u, data in now.items() if _utf8(data) is None or data not in (old.get(u), ref.get(u))]
            intact.check(not bad and now.keys() == old.keys(), f"point {i}: {len(bad)} notes neither old nor normalized, e.g. {bad[:2]}")
            done = cli("normalize", root, timeout=300)
            left = temp_leftovers(root)
            now = snapshot(root)
            wrong = [u for u in ref if now.get(u) != ref[u]]
            rerun.check(done.returncode == 0 and not wrong, f"point {i}: rerun exit {done.returncode}, {len(wrong)} notes differ from a full run")
            cleaned.check(not left, f"point {i}: {len(left)} temp files left after the rerun (e.g. {left[0] if left else ''})")
            for rel in left:  # each point on its own: the next one must not see this one's leftovers
                (root / rel).unlink(missing_ok=True)
            for p in notes_of(root):  # back to the old texts for the next point
                rel = str(p.relative_to(root))
                if rel in old and p.read_bytes() != old[rel]:
                    p.write_bytes(old[rel])
    return [intact, orphans, rerun, cleaned]


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=60, check=check)


TRIGGERS = ["random", "index.lock", "HEAD.lock", "rebase-merge", "push"]


def _pushing(pgid: int) -> bool:
    for pid in group_alive(pgid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"push" in cmd or b"receive-pack" in cmd or b"send-pack" in cmd:
            return True
    return False


def kill_sync(source: Path, points: int, rng: random.Random) -> tuple[list[Result], dict]:
    intact = Result("kill -9 sync: notes intact, no markers")
    nextsync = Result("kill -9 sync: next sync exits 0 (not stuck)")
    kept = Result("kill -9 sync: edits in tree, HEAD, remote")
    if shutil.which("git") is None:
        for r in (intact, nextsync, kept):
            r.skipped = "no git"
        return [intact, nextsync, kept], {}
    hits = {t: 0 for t in TRIGGERS}
    with temp_dir("ksync") as tmp:
        remote, laptop, desktop = tmp / "remote.git", tmp / "laptop", tmp / "desktop"
        git("init", "-q", "--bare", "-b", "main", str(remote))
        copy_vault(source, laptop)
        first = cli("sync", laptop, "--remote", str(remote), timeout=120)
        if first.returncode != 0:
            nextsync.check(False, f"set-up sync exit {first.returncode}: {first.stderr.strip()[-300:]}")
            return [intact, nextsync, kept], {}
        git("clone", "-q", "-b", "main", str(remote), str(desktop))
        rels = sorted(str(p.relative_to(laptop)) for p in notes_of(laptop))
        local_set, remote_set = rels[::2], rels[1::2]
        local_marks: dict[str, list[str]] = {}
        remote_marks: dict[str, list[str]] = {}
        t0 = time.monotonic()
        cli("sync", laptop, timeout=120)
        typical = max(0.3, time.monotonic() - t0)
        attempt = rebuilt = streak = 0
        misses = {t: 0 for t in TRIGGERS}
        while intact.tries < points and attempt < points * 2:
            trigger = TRIGGERS[(intact.tries + streak // 2) % len(TRIGGERS)]  # a missed step is tried once more
            attempt += 1
            old = snapshot(laptop)
            news: dict[str, set[bytes]] = {}
            for side, root, notes, marks in (("local", laptop, local_set, local_marks), ("remote", desktop, remote_set, remote_marks)):
                for rel in rng.sample(notes, 2):
                    mark = f"{side}-{attempt}-{uuid.uuid4().hex}"
                    with open(root / rel, "a", encoding="utf-8") as fh:
                        fh.write(f"\n{mark}\n")
                    marks.setdefault(rel, []).append(mark)
                    news.setdefault(rel, set()).add((root / rel).read_bytes())
            git("commit", "-qam", f"desktop {attempt}", cwd=desktop)
            git("push", "-q", "origin", "main", cwd=desktop)
            proc = spawn("sync", laptop, "--json", quiet=True)
            killed = False
            try:
                if trigger == "random":
                    time.sleep(rng.uniform(0.1, typical))
                    killed = proc.poll() is None
                else:
                    watch = laptop / ".git" / trigger
                    objects = remote / "objects"
                    deadline = time.monotonic() + 60
                    n = 0
                    while time.monotonic() < deadline:  # a busy loop: git holds some of these for a few ms only
                        n += 1
                        if trigger == "push":  # receive-pack's quarantine, or a push process in the group
                            hit = any(e.startswith("tmp_objdir-incoming") or e.startswith("incoming") for e in os.listdir(objects)) or (
                                n % 200 == 0 and _pushing(proc.pid)
                            )
                        else:
                            hit = watch.exists()
                        if hit:
                            killed = True
                            break
                        if n % 64 == 0 and proc.poll() is not None:
                            break
                if killed:
                    os.killpg(proc.pid, signal.SIGKILL)
            finally:
                kill_group(proc)
            if not killed:
                misses[trigger] += 1
                streak += 1
            if killed:
                hits[trigger] += 1
                streak = 0
                now = snapshot(laptop)
                bad = [u for u, data in now.items() if _utf8(data) is None or b"<<<<<<<" in data or (data != old.get(u) and data not in news.get(u, ()))]
                intact.check(not bad, f"{trigger}: {bad[:2]} corrupted or half-merged")
            done = cli("sync", laptop, "--json", timeout=120)
            if killed:
                why = " ".join(done.stderr.split())[:160]
                nextsync.check(done.returncode == 0, f"{trigger}: next sync exit {done.returncode}: {why}")
            problems = []
            gitdir = laptop / ".git"
            for left in ("rebase-merge", "rebase-apply", "index.lock", "HEAD.lock"):
                if (gitdir / left).exists():
                    problems.append(f".git/{left} left")
            problems += [f"temp {t}" for t in temp_leftovers(laptop)[:2]]
            for rel, marks in local_marks.items():
                tree = (laptop / rel).read_text("utf-8", "replace")
                head = git("show", f"HEAD:{rel}", cwd=laptop, check=False).stdout
                far = git("--git-dir", str(remote), "show", f"main:{rel}", check=False).stdout
                for where, text in (("tree", tree), ("HEAD", head), ("remote", far)):
                    if any(m not in text for m in marks):
                        problems.append(f"local edit of {rel} missing from {where}")
            for rel, marks in remote_marks.items():
                if any(m not in (laptop / rel).read_text("utf-8", "replace") for m in marks):
                    problems.append(f"remote edit of {rel} missing from the tree")
            if killed:
                kept.check(not problems, f"{trigger}: {problems[:3]}")
            for marks, side in ((local_marks, laptop), (remote_marks, laptop)):  # a lost edit is counted once, at its point
                for rel in list(marks):
                    text = (side / rel).read_text("utf-8", "replace")
                    marks[rel] = [m for m in marks[rel] if m in text]
            if done.returncode != 0:  # stuck: repair by hand so the next point starts from a sound repository
                for left in ("index.lock", "HEAD.lock"):
                    (gitdir / left).unlink(missing_ok=True)
                if (gitdir / "rebase-merge").exists() or (gitdir / "rebase-apply").exists():
                    git("rebase", "--abort", cwd=laptop, check=False)
                if cli("sync", laptop, timeout=120).returncode != 0:  # still stuck: a fresh clone, so points stay independent
                    shutil.rmtree(laptop)
                    git("clone", "-q", "-b", "main", str(remote), str(laptop))
                    cli("sync", laptop, timeout=120)
                    for marks in (local_marks, remote_marks):  # edits lost with the stuck clone were counted above
                        for rel in list(marks):
                            text = (laptop / rel).read_text("utf-8", "replace")
                            marks[rel] = [m for m in marks[rel] if m in text]
                    rebuilt += 1
            if git("pull", "-q", "--rebase", "origin", "main", cwd=desktop, check=False).returncode != 0:
                git("rebase", "--abort", cwd=desktop, check=False)
                git("reset", "-q", "--hard", "origin/main", cwd=desktop, check=False)
    return [intact, nextsync, kept], {
        "sync_kill_points": intact.tries,
        "sync_kills_by_trigger": hits,
        "sync_attempts": attempt,
        "sync_misses_by_trigger": misses,
        "sync_laptop_reclones": rebuilt,
    }
