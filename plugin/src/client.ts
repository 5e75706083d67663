/**
 * The vaultsync API client: plain TypeScript over `fetch`, with no `obsidian` import, so that
 * Node's test runner can use it against a real `vaultsync serve`.
 */

export interface ApiInfo {
  url: string;
  token: string;
  port?: number;
}

export interface ErrorBody {
  error: string;
  message: string;
  hint: string | null;
}

/** A JSON error answer from the API (`{error, message, hint}`), or a transport failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Format = "pdf" | "epub" | "anki";

export interface Selection {
  folders?: string[];
  tags?: string[];
  notes?: string[];
  depth?: number;
  where?: Record<string, string>;
}

export interface Link {
  kind: string;
  span: [number, number];
  target: string;
  subpath: string;
  display: string | null;
  dest: string | null;
  ambiguous: boolean;
}

export interface Backlink {
  source: string;
  kind: string;
  span: [number, number];
  target: string;
  subpath: string;
  display: string | null;
}

export interface Status {
  version: string;
  vault: string;
  name: string;
  mode: "serve" | "watch";
  counts: Record<string, number>;
  daemon: Record<string, unknown>;
  exporters: string[];
  sync_available: boolean;
  api: { port: number };
}

export interface Normalized {
  note: string | null;
  written: boolean;
  changed: string[];
  diffs: string[];
  counts: Record<string, number>;
}

export interface Job {
  id: string;
  format: string;
  title: string;
  state: "queued" | "running" | "done" | "failed";
  progress: { done: number; total: number };
  result?: { filename: string; size: number; notes: number; url: string };
  error?: ErrorBody;
}

export interface Renamed {
  moved: Record<string, string>;
  links_updated: number;
  notes_updated: string[];
}

/** One passage found by `GET /search`: its note, heading path, line and the video second. */
export interface SearchHit {
  uri: string;
  title: string;
  heading: string;
  line: number;
  line_end: number;
  snippet: string;
  /** [start, end) of each matched word in `snippet`. */
  marks: [number, number][];
  seconds: number | null;
  clock: string | null;
  video_id: string | null;
  video_url: string | null;
  score: number;
}

export interface SearchResult {
  query: string;
  count: number;
  hits: SearchHit[];
}

export interface SearchOptions {
  limit?: number;
  folders?: string[];
  tags?: string[];
  /** Frontmatter KEY=VALUE pairs. */
  where?: Record<string, string>;
}

/** The query string of `GET /search` (repeated keys for the lists). */
export function searchQuery(q: string, options: SearchOptions = {}): string {
  const params = new URLSearchParams({ q });
  if (options.limit !== undefined) params.set("limit", String(options.limit));
  for (const folder of options.folders ?? []) params.append("folder", folder);
  for (const tag of options.tags ?? []) params.append("tag", tag);
  for (const [key, value] of Object.entries(options.where ?? {})) params.append("where", `${key}=${value}`);
  return params.toString();
}

/** A snippet cut into plain and matched pieces, in order, for rendering without HTML. */
export function snippetParts(snippet: string, marks: [number, number][]): { text: string; matched: boolean }[] {
  const parts: { text: string; matched: boolean }[] = [];
  let at = 0;
  for (const [start, end] of [...marks].sort((a, b) => a[0] - b[0])) {
    if (start < at || end > snippet.length) continue;
    if (start > at) parts.push({ text: snippet.slice(at, start), matched: false });
    parts.push({ text: snippet.slice(start, end), matched: true });
    at = end;
  }
  if (at < snippet.length) parts.push({ text: snippet.slice(at), matched: false });
  return parts;
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

/** Read `<vault>/.vaultsync/api.json` text (written by the server) into connection details. */
export function parseApiInfo(text: string): ApiInfo {
  const data = JSON.parse(text) as Partial<ApiInfo>;
  if (typeof data.url !== "string" || typeof data.token !== "string") {
    throw new ApiError(0, "bad_api_file", "api.json has no url and token", "start `vaultsync serve` or `vaultsync watch --api`");
  }
  return { url: data.url.replace(/\/+$/, ""), token: data.token, port: data.port };
}

/** A vault path as one URL path segment (slashes encoded too). */
export function encodePath(path: string): string {
  return encodeURIComponent(path);
}

export class VaultsyncClient {
  private readonly fetchFn: FetchLike;

  constructor(
    readonly info: ApiInfo,
    fetchFn?: FetchLike,
  ) {
    this.fetchFn = fetchFn ?? (globalThis.fetch as unknown as FetchLike);
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; res: Awaited<ReturnType<FetchLike>> }> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.info.token}` };
    let payload: string | undefined;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetchFn(this.info.url + path, { method, headers, body: payload });
    } catch (err) {
      throw new ApiError(0, "unreachable", `vaultsync is not reachable at ${this.info.url}: ${String(err)}`,
        "start `vaultsync serve` (or `vaultsync watch --api`) for this vault");
    }
    if (res.status >= 400) {
      let data: Partial<ErrorBody> = {};
      try {
        data = (await res.json()) as Partial<ErrorBody>;
      } catch {
        // not JSON: keep the status alone
      }
      throw new ApiError(res.status, data.error ?? "http_error", data.message ?? `HTTP ${res.status}`, data.hint ?? null);
    }
    return { status: res.status, res };
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { res } = await this.call(method, path, body);
    return (await res.json()) as T;
  }

  status(): Promise<Status> {
    return this.json("GET", "/status");
  }

  links(path: string): Promise<{ note: string; links: Link[] }> {
    return this.json("GET", `/notes/${encodePath(path)}/links`);
  }

  backlinks(path: string): Promise<{ note: string; backlinks: Backlink[] }> {
    return this.json("GET", `/notes/${encodePath(path)}/backlinks`);
  }

  unresolved(path: string): Promise<{ note: string; unresolved: Link[] }> {
    return this.json("GET", `/notes/${encodePath(path)}/unresolved`);
  }

  normalize(path: string | null, write: boolean): Promise<Normalized> {
    return this.json("POST", "/normalize", path === null ? { write } : { path, write });
  }

  startExport(format: Format, selection: Selection, title?: string): Promise<Job> {
    return this.json("POST", "/exports", title ? { format, selection, title } : { format, selection });
  }

  job(id: string): Promise<Job> {
    return this.json("GET", `/exports/${encodeURIComponent(id)}`);
  }

  /** Poll a job until it is done (or failed: an ApiError), reporting progress on the way. */
  async waitForJob(id: string, onProgress?: (job: Job) => void, intervalMs = 250, timeoutMs = 600_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.job(id);
      onProgress?.(job);
      if (job.state === "done") return job;
      if (job.state === "failed") {
        const e = job.error;
        throw new ApiError(500, e?.error ?? "export_failed", e?.message ?? "the export failed", e?.hint ?? null);
      }
      if (Date.now() > deadline) throw new ApiError(0, "timeout", `export ${id} did not finish in time`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async result(id: string): Promise<ArrayBuffer> {
    const { res } = await this.call("GET", `/exports/${encodeURIComponent(id)}/result`);
    return res.arrayBuffer();
  }

  rename(from: string, to: string): Promise<Renamed> {
    return this.json("POST", "/rename", { from, to });
  }

  /** Full-text search: passages best first, each with its note, line and video second. */
  search(q: string, options: SearchOptions = {}): Promise<SearchResult> {
    return this.json("GET", `/search?${searchQuery(q, options)}`);
  }

  sync(): Promise<Record<string, unknown>> {
    return this.json("POST", "/sync", {});
  }
}
