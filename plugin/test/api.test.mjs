// The plugin's API client against the real backend: `python -m vaultsync serve` on a copy of the
// bundled sample vault, started on loopback by this test. Run `npm run build` first.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { ApiError, VaultsyncClient, parseApiInfo, searchQuery, snippetParts } from "../build/client.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const python = process.env.VAULTSYNC_PYTHON || "python3";

let server;
let vault;
let client;
let info;

async function waitFor(check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  const base = mkdtempSync(join(tmpdir(), "vaultsync-plugin-"));
  vault = join(base, "vault");
  cpSync(join(repo, "vault"), vault, { recursive: true, filter: (src) => !src.includes(".vaultsync") });
  server = spawn(python, ["-m", "vaultsync", "serve", vault, "--refresh", "0"], { cwd: repo, stdio: ["ignore", "inherit", "inherit"] });
  const apiFile = join(vault, ".vaultsync", "api.json");
  info = await waitFor(() => {
    if (server.exitCode !== null) throw new Error(`vaultsync serve exited with ${server.exitCode}`);
    if (!existsSync(apiFile)) return null;
    const data = JSON.parse(readFileSync(apiFile, "utf8"));
    return data.pid === server.pid ? parseApiInfo(readFileSync(apiFile, "utf8")) : null;
  });
  assert.equal(statSync(apiFile).mode & 0o777, 0o600);
  assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  client = new VaultsyncClient(info);
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  if (vault) rmSync(dirname(vault), { recursive: true, force: true });
});

describe("vaultsync API client", () => {
  test("status", async () => {
    const status = await client.status();
    assert.equal(status.mode, "serve");
    assert.ok(status.counts.notes > 20);
    assert.ok(status.exporters.includes("epub"));
    assert.equal(status.api.port, info.port);
  });

  test("a wrong token is refused", async () => {
    const wrong = new VaultsyncClient({ url: info.url, token: "x".repeat(43) });
    await assert.rejects(wrong.status(), (err) => err instanceof ApiError && err.status === 401 && err.code === "unauthorized");
  });

  test("links, backlinks and unresolved links of a note", async () => {
    const note = "citylayers/citylayers.md";
    const links = await client.links(note);
    assert.equal(links.note, note);
    assert.ok(links.links.length > 0);
    const target = links.links.find((l) => l.dest && l.dest.endsWith(".md")).dest;
    const back = await client.backlinks(target);
    assert.ok(back.backlinks.some((b) => b.source === note));
    const unresolved = await client.unresolved(note);
    assert.ok(unresolved.unresolved.every((l) => l.dest === null));
  });

  test("paths outside the vault are refused", async () => {
    for (const path of ["../etc/passwd", "/etc/passwd", ".vaultsync/api.json", "a/../../b.md"]) {
      await assert.rejects(client.backlinks(path), (err) => err instanceof ApiError && err.status === 400 && err.code === "path_refused");
    }
  });

  test("normalize a note: diff only, then write", async () => {
    const status = await client.normalize("citylayers/citylayers.md", false);
    assert.equal(status.written, false);
    assert.ok(Array.isArray(status.diffs));
    const written = await client.normalize("citylayers/citylayers.md", true);
    assert.equal(written.changed.length === 0 || written.written, true);
    const again = await client.normalize("citylayers/citylayers.md", false);
    assert.deepEqual(again.changed, []);
  });

  test("export a folder to EPUB as a job, then fetch the file", async () => {
    const job = await client.startExport("epub", { folders: ["citylayers"] }, "City layers");
    assert.ok(["queued", "running", "done"].includes(job.state));
    let seen = 0;
    const done = await client.waitForJob(job.id, () => seen++, 100);
    assert.equal(done.state, "done");
    assert.ok(seen >= 1);
    assert.equal(done.result.filename, "City layers.epub");
    const data = Buffer.from(await client.result(done.id));
    assert.equal(data.length, done.result.size);
    assert.equal(data.subarray(30, 38).toString(), "mimetype");
  });

  test("an unknown export format is a JSON error", async () => {
    await assert.rejects(client.startExport("docx", {}), (err) => err instanceof ApiError && err.status === 422 && err.hint.includes("epub"));
  });

  test("rename a note and its links follow", async () => {
    const note = "citylayers/citylayers.md";
    const target = (await client.links(note)).links.find((l) => l.dest && l.dest.endsWith(".md") && l.dest !== note).dest;
    const renamed = target.replace(/\.md$/, " renamed.md");
    const report = await client.rename(target, renamed);
    assert.deepEqual(report.moved, { [target]: renamed });
    assert.ok(report.links_updated >= 1);
    assert.ok(existsSync(join(vault, renamed)) && !existsSync(join(vault, target)));
    const back = await client.backlinks(renamed);
    assert.ok(back.backlinks.some((b) => b.source === note));
  });

  test("sync now in a vault that is not a git repository explains itself", async () => {
    await assert.rejects(client.sync(), (err) => err instanceof ApiError && err.status === 409 && err.hint !== null);
  });

  test("search finds passages with their line and the video second", async () => {
    const result = await client.search('"roughly doubled"', { limit: 5, folders: ["citylayers"] });
    assert.ok(result.count >= 1);
    const hit = result.hits[0];
    assert.ok(hit.uri.startsWith("citylayers/the_great_stink_of_1858"), hit.uri); // an earlier test may rename it
    assert.ok(hit.line >= 1);
    assert.ok(hit.marks.length >= 1 && hit.marks.every(([s, e]) => s < e && e <= hit.snippet.length));
    const timed = (await client.search("sanitation city government")).hits[0];
    assert.match(timed.video_url, /^https:\/\/www\.youtube\.com\/watch\?v=[\w-]+&t=\d+s$/);
    assert.equal(timed.video_url, `https://www.youtube.com/watch?v=${timed.video_id}&t=${timed.seconds}s`);
    assert.match(timed.clock, /^\d\d:\d\d(:\d\d)?$/);
  });

  test("a malformed search is a 422 JSON error, a folder outside the vault a 400", async () => {
    await assert.rejects(client.search('"unclosed'), (err) => err instanceof ApiError && err.status === 422 && err.message.includes("quote"));
    await assert.rejects(client.search("x", { folders: ["../outside"] }), (err) => err instanceof ApiError && err.status === 400);
  });

  test("search query strings and snippet pieces", () => {
    assert.equal(searchQuery("a b", { limit: 3, folders: ["x/y"], tags: ["t"], where: { k: "v" } }), "q=a+b&limit=3&folder=x%2Fy&tag=t&where=k%3Dv");
    assert.deepEqual(snippetParts("one two three", [[4, 7]]), [
      { text: "one ", matched: false }, { text: "two", matched: true }, { text: " three", matched: false },
    ]);
    assert.deepEqual(snippetParts("ab", [[0, 2], [1, 2]]), [{ text: "ab", matched: true }]);
  });

  test("an unreachable server is an ApiError with a hint", async () => {
    const gone = new VaultsyncClient({ url: "http://127.0.0.1:9", token: info.token });
    await assert.rejects(gone.status(), (err) => err instanceof ApiError && err.status === 0 && err.code === "unreachable");
  });
});
