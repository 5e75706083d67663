/**
 * The "Search vault (to the second)" modal: hits from `GET /search` as you type; Enter opens the
 * note at the passage's line, Shift+Enter (or the clock button) opens the video at its second.
 */

import { App, MarkdownView, SuggestModal, TFile } from "obsidian";
import { ApiError, SearchHit, VaultsyncClient, snippetParts } from "./client";

const LIMIT = 30;
const MIN_CHARS = 2;

export class SearchModal extends SuggestModal<SearchHit> {
  private latest = 0;
  private last: SearchHit[] = [];

  constructor(
    app: App,
    private readonly client: () => Promise<VaultsyncClient>,
    private readonly fail: (err: unknown) => void,
  ) {
    super(app);
    this.setPlaceholder('Search: words, "phrases", -excluded, OR, prefix*, tag:, file:, section:, video:ID');
    this.setInstructions([
      { command: "↵", purpose: "open the note at this passage" },
      { command: "shift ↵", purpose: "open the video at this second" },
      { command: "esc", purpose: "close" },
    ]);
    this.scope.register(["Shift"], "Enter", (evt: KeyboardEvent) => {
      const hit = this.selected();
      if (hit) {
        this.close();
        openVideo(hit);
      }
      evt.preventDefault();
      return false;
    });
  }

  /** The highlighted suggestion (the chooser is not in Obsidian's typings). */
  private selected(): SearchHit | undefined {
    const chooser = (this as unknown as { chooser?: { values?: SearchHit[]; selectedItem?: number } }).chooser;
    return chooser?.values?.[chooser.selectedItem ?? 0];
  }

  async getSuggestions(query: string): Promise<SearchHit[]> {
    const ticket = ++this.latest;
    if (query.trim().length < MIN_CHARS) {
      this.emptyStateText = "Type at least two characters.";
      return [];
    }
    try {
      const result = await (await this.client()).search(query, { limit: LIMIT });
      if (ticket !== this.latest) return this.last; // an answer to an older keystroke
      this.emptyStateText = "No passage matches.";
      this.last = result.hits;
      return result.hits;
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        this.emptyStateText = err.message; // a query still being typed ("an unclosed quote")
        return [];
      }
      this.fail(err);
      return [];
    }
  }

  renderSuggestion(hit: SearchHit, el: HTMLElement): void {
    const head = el.createDiv({ cls: "vaultsync-search-head" });
    head.createSpan({ text: hit.title, cls: "vaultsync-search-title" });
    if (hit.heading) head.createSpan({ text: ` › ${hit.heading}`, cls: "vaultsync-search-heading" });
    if (hit.clock && hit.video_url) {
      const button = head.createEl("button", { text: `▶ ${hit.clock}`, cls: "vaultsync-search-clock" });
      button.setAttr("aria-label", "Open the video at this second");
      button.addEventListener("click", (evt) => {
        evt.stopPropagation();
        this.close();
        openVideo(hit);
      });
    }
    const body = el.createDiv({ cls: "vaultsync-search-snippet" });
    for (const part of snippetParts(hit.snippet, hit.marks)) {
      if (part.matched) body.createEl("mark", { text: part.text });
      else body.appendText(part.text);
    }
    el.createDiv({ text: `${hit.uri}:${hit.line}`, cls: "vaultsync-search-where" }).style.opacity = "0.6";
  }

  onChooseSuggestion(hit: SearchHit, evt: MouseEvent | KeyboardEvent): void {
    if (evt.shiftKey) {
      openVideo(hit);
      return;
    }
    void openAtLine(this.app, hit);
  }
}

function openVideo(hit: SearchHit): void {
  if (hit.video_url) window.open(hit.video_url);
}

/** Open the note and put the cursor on the passage's first line (Obsidian's lines are 0-based). */
async function openAtLine(app: App, hit: SearchHit): Promise<void> {
  const file = app.vault.getAbstractFileByPath(hit.uri);
  if (!(file instanceof TFile)) return;
  const leaf = app.workspace.getLeaf(false);
  await leaf.openFile(file, { eState: { line: hit.line - 1 } });
  const view = leaf.view instanceof MarkdownView ? leaf.view : null;
  if (view) {
    const line = Math.max(0, hit.line - 1);
    view.editor.setCursor({ line, ch: 0 });
    view.editor.scrollIntoView({ from: { line, ch: 0 }, to: { line, ch: 0 } }, true);
  }
}
