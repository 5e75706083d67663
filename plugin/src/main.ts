/**
 * The vaultsync Obsidian plugin: a status-bar item, export / normalize / sync / search commands
 * and a ribbon action, all through the local vaultsync API (see ./client.ts; search: ./search.ts).
 */

import { App, Notice, Plugin, PluginSettingTab, Setting, TFile, normalizePath, requestUrl } from "obsidian";
import { ApiError, ApiInfo, FetchLike, Format, Job, Selection, VaultsyncClient, parseApiInfo } from "./client";
import { SearchModal } from "./search";

interface Settings {
  /** Read the URL and token from <vault>/.vaultsync/api.json (written by `vaultsync serve`). */
  useApiFile: boolean;
  url: string;
  token: string;
  /** Vault folder that exported files are saved to. */
  exportFolder: string;
  /** Seconds between status refreshes of the status-bar item. */
  statusInterval: number;
}

const DEFAULTS: Settings = { useApiFile: true, url: "http://127.0.0.1:0", token: "", exportFolder: "Exports", statusInterval: 30 };
const API_FILE = ".vaultsync/api.json";
const FORMATS: [Format, string][] = [["pdf", "PDF"], ["epub", "EPUB"], ["anki", "Anki"]];

/** `fetch` over Obsidian's requestUrl: no CORS in the way, and errors come back as statuses. */
const obsidianFetch: FetchLike = async (url, init) => {
  const res = await requestUrl({ url, method: init.method, headers: init.headers, body: init.body, throw: false });
  return {
    status: res.status,
    headers: { get: (name: string) => res.headers[name.toLowerCase()] ?? res.headers[name] ?? null },
    json: async () => res.json as unknown,
    arrayBuffer: async () => res.arrayBuffer,
  };
};

export default class VaultsyncPlugin extends Plugin {
  settings: Settings = { ...DEFAULTS };
  private statusEl: HTMLElement | null = null;
  private timer: number | null = null;

  async onload(): Promise<void> {
    this.settings = { ...DEFAULTS, ...((await this.loadData()) as Partial<Settings> | null) };
    this.addSettingTab(new VaultsyncSettingTab(this.app, this));

    this.statusEl = this.addStatusBarItem();
    this.statusEl.setText("vaultsync: …");
    this.statusEl.onClickEvent(() => void this.refreshStatus(true));
    this.restartStatusTimer();
    void this.refreshStatus(false);

    for (const [format, label] of FORMATS) {
      this.addCommand({
        id: `export-note-${format}`,
        name: `Export current note to ${label}`,
        checkCallback: (checking) => {
          const file = this.app.workspace.getActiveFile();
          if (!file || file.extension !== "md") return false;
          if (!checking) void this.exportSelection(format, { notes: [file.path] }, file.basename);
          return true;
        },
      });
      this.addCommand({
        id: `export-folder-${format}`,
        name: `Export current folder to ${label}`,
        checkCallback: (checking) => {
          const folder = this.app.workspace.getActiveFile()?.parent;
          if (!folder) return false;
          if (!checking) {
            const selection: Selection = folder.isRoot() ? {} : { folders: [folder.path] };
            void this.exportSelection(format, selection, folder.isRoot() ? this.app.vault.getName() : folder.name);
          }
          return true;
        },
      });
    }
    this.addCommand({
      id: "normalize-note",
      name: "Normalize current note",
      checkCallback: (checking) => {
        const file = this.app.workspace.getActiveFile();
        if (!file || file.extension !== "md") return false;
        if (!checking) void this.normalize(file);
        return true;
      },
    });
    this.addCommand({ id: "sync-now", name: "Sync now", callback: () => void this.syncNow() });
    this.addCommand({
      id: "search-vault",
      name: "Search vault (to the second)",
      callback: () => new SearchModal(this.app, () => this.client(), (err) => this.fail(err)).open(),
    });
    this.addRibbonIcon("refresh-cw", "vaultsync: sync now", () => void this.syncNow());
  }

  onunload(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
  }

  async saveSettings(): Promise<void> {
    await this.saveData(this.settings);
    this.restartStatusTimer();
    void this.refreshStatus(false);
  }

  restartStatusTimer(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    const seconds = Math.max(5, this.settings.statusInterval);
    this.timer = this.registerInterval(window.setInterval(() => void this.refreshStatus(false), seconds * 1000));
  }

  /** Connection details: api.json from the vault's .vaultsync folder, or the URL and token set by hand. */
  async apiInfo(): Promise<ApiInfo> {
    if (this.settings.useApiFile) {
      let text: string;
      try {
        text = await this.app.vault.adapter.read(API_FILE);
      } catch {
        throw new ApiError(0, "no_api_file", `${API_FILE} not found`, "start `vaultsync serve` (or `vaultsync watch --api`) for this vault");
      }
      return parseApiInfo(text);
    }
    return { url: this.settings.url.replace(/\/+$/, ""), token: this.settings.token };
  }

  async client(): Promise<VaultsyncClient> {
    return new VaultsyncClient(await this.apiInfo(), obsidianFetch);
  }

  async refreshStatus(announce: boolean): Promise<void> {
    if (!this.statusEl) return;
    try {
      const status = await (await this.client()).status();
      const notes = (status.counts.notes ?? 0).toLocaleString();
      const state = status.mode === "watch" ? String(status.daemon.state ?? "watching") : "serving";
      this.statusEl.setText(`vaultsync: ${notes} notes · ${state}`);
      this.statusEl.setAttr("aria-label", `vaultsync ${status.version} on port ${status.api.port}`);
      if (announce) new Notice(`vaultsync ${status.version}: ${notes} notes, ${status.counts.unresolved ?? 0} unresolved links`);
    } catch (err) {
      this.statusEl.setText("vaultsync: offline");
      if (announce) this.fail(err);
    }
  }

  async exportSelection(format: Format, selection: Selection, title: string): Promise<void> {
    const notice = new Notice(`vaultsync: exporting ${title} to ${format.toUpperCase()}…`, 0);
    try {
      const client = await this.client();
      const started = await client.startExport(format, selection, title);
      const job: Job = await client.waitForJob(started.id, (j) =>
        notice.setMessage(`vaultsync: exporting ${title} (${j.progress.done}/${j.progress.total})`),
      );
      const data = await client.result(job.id);
      const folder = normalizePath(this.settings.exportFolder || "Exports");
      if (!(await this.app.vault.adapter.exists(folder))) await this.app.vault.createFolder(folder);
      const target = normalizePath(`${folder}/${job.result?.filename ?? `${title}.${format}`}`);
      await this.app.vault.adapter.writeBinary(target, data);
      notice.hide();
      new Notice(`vaultsync: saved ${target} (${job.result?.notes ?? 0} notes)`);
    } catch (err) {
      notice.hide();
      this.fail(err);
    }
  }

  async normalize(file: TFile): Promise<void> {
    try {
      const result = await (await this.client()).normalize(file.path, true);
      new Notice(result.written ? `vaultsync: normalized ${file.path}` : `vaultsync: ${file.path} is already normalized`);
    } catch (err) {
      this.fail(err);
    }
  }

  async syncNow(): Promise<void> {
    const notice = new Notice("vaultsync: syncing…", 0);
    try {
      const report = await (await this.client()).sync();
      notice.hide();
      const conflicts = Array.isArray(report.conflicts) ? report.conflicts.length : 0;
      new Notice(`vaultsync: synced${report.pushed ? " and pushed" : ""}${conflicts ? `; ${conflicts} conflicts side by side` : ""}`);
      void this.refreshStatus(false);
    } catch (err) {
      notice.hide();
      this.fail(err);
    }
  }

  fail(err: unknown): void {
    if (err instanceof ApiError) {
      new Notice(`vaultsync: ${err.message}${err.hint ? `\n${err.hint}` : ""}`, 8000);
    } else {
      new Notice(`vaultsync: ${String(err)}`, 8000);
    }
  }
}

class VaultsyncSettingTab extends PluginSettingTab {
  constructor(
    app: App,
    private readonly plugin: VaultsyncPlugin,
  ) {
    super(app, plugin);
  }

  display(): void {
    const { containerEl } = this;
    containerEl.empty();
    const s = this.plugin.settings;
    new Setting(containerEl)
      .setName("Read connection from api.json")
      .setDesc(`Use the URL and token that vaultsync writes to ${API_FILE} in this vault.`)
      .addToggle((t) => t.setValue(s.useApiFile).onChange(async (v) => {
        s.useApiFile = v;
        await this.plugin.saveSettings();
        this.display();
      }));
    if (!s.useApiFile) {
      new Setting(containerEl).setName("API URL").setDesc("For example http://127.0.0.1:8765").addText((t) =>
        t.setValue(s.url).onChange(async (v) => {
          s.url = v.trim();
          await this.plugin.saveSettings();
        }),
      );
      new Setting(containerEl).setName("Token").setDesc("The token from api.json.").addText((t) => {
        t.inputEl.type = "password";
        t.setValue(s.token).onChange(async (v) => {
          s.token = v.trim();
          await this.plugin.saveSettings();
        });
      });
    }
    new Setting(containerEl).setName("Export folder").setDesc("Where exported files are saved in the vault.").addText((t) =>
      t.setValue(s.exportFolder).onChange(async (v) => {
        s.exportFolder = v.trim() || "Exports";
        await this.plugin.saveSettings();
      }),
    );
    new Setting(containerEl).setName("Status refresh (seconds)").addText((t) =>
      t.setValue(String(s.statusInterval)).onChange(async (v) => {
        const n = Number(v);
        if (Number.isFinite(n) && n >= 5) {
          s.statusInterval = n;
          await this.plugin.saveSettings();
        }
      }),
    );
    new Setting(containerEl).setName("Test connection").addButton((b) =>
      b.setButtonText("Check").onClick(() => void this.plugin.refreshStatus(true)),
    );
  }
}
