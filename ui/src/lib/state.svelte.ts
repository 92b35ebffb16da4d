// What the main window shows and how it changes: the queue and its filters, the selection
// and the open conversation, search, the overlays (help, accounts, report, review), and what each
// key does on the screen as it is. App.svelte lays it out and wires the backend's events
// to it; state.test.ts drives it without a window.
import type { AccountStatus, AppInfo, Change, Channel, ConversationDetail, QueueItem, SearchHit, SourceKind, Status } from "./bindings";
import type { api } from "./api";
import { errorText } from "./api";
import { actionFor, type KeyPress, type TranscriptMove } from "./keys";
import { applyFilters, counts, mergeRows, move, type Touched, type View } from "./queue";

/** The backend calls the window makes (a fake in tests). */
export type Backend = Pick<typeof api, "queue" | "detail" | "search" | "statuses" | "appInfo">;

/** What the state cannot do itself: focus, and the open conversation's panels. */
export interface Surface {
  focusSearch(): void;
  blurSearch(): void;
  /** Takes the focus out of whatever field has it. */
  blurField(): void;
  focusDetail(): void;
  draftAction(which: "accept" | "edit" | "reject"): void;
  moveTranscript(m: TranscriptMove): void;
}

/** The changes a sync touched, beyond which the whole queue is re-read rather than merged. */
const MERGE_AT_MOST = 500;
/** Changes come in bursts during a sync: one re-query per burst. */
const BURST_MS = 150;
/** Search as the rep types, once they pause. */
const SEARCH_PAUSE_MS = 200;

export class Board {
  info = $state<AppInfo | null>(null);
  // Raw: replaced whole on every refresh, never changed in place; no deep proxies over
  // 10,000 rows or a 1,000-message transcript.
  all = $state.raw<QueueItem[]>([]);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  statuses = $state<Record<string, AccountStatus>>({});
  view = $state<View>("all");
  channels = $state<Channel[]>([]);
  statusFilter = $state<Status[]>([]);
  sources = $state<SourceKind[]>([]);
  selected = $state<number | null>(null);
  detail = $state.raw<ConversationDetail | null>(null);
  detailError = $state<string | null>(null);
  focusDetail = $state(false);
  help = $state(false);
  settings = $state(false);
  report = $state(false);
  review = $state(false);
  query = $state("");
  hits = $state.raw<SearchHit[] | null>(null);
  now = $state(Date.now());

  items = $derived(applyFilters(this.all, { view: this.view, channels: this.channels, statuses: this.statusFilter, sources: this.sources }));
  tally = $derived(counts(this.all));

  // Where the selection was in the list, for j/k after it left the queue.
  #lastIndex = 0;
  // What changed since the last refresh: the conversations a sync touched, or "everything"
  // (accounts changed, replies went out, or too many to merge).
  #touched: Touched = new Map();
  #touchedCount = 0;
  #everything = false;
  #burst: ReturnType<typeof setTimeout> | undefined;
  // One refresh at a time, in order: an older answer never lands after a newer one.
  #refreshing: Promise<void> = Promise.resolve();
  #searchTimer: ReturnType<typeof setTimeout> | undefined;

  #backend: Backend;
  #surface: Surface;

  constructor(backend: Backend, surface: Surface) {
    this.#backend = backend;
    this.#surface = surface;
  }

  /** Notes where the selection is in the list; App.svelte calls it whenever either changes. */
  rememberPlace() {
    const at = this.items.findIndex((i) => i.id === this.selected);
    if (at >= 0) this.#lastIndex = at;
  }

  /** A key pressed anywhere in the window. True if it was Baton's (the browser's default is
   * then prevented). */
  press(k: KeyPress): boolean {
    const action = actionFor(k);
    if (action === null) {
      if (k.typing && k.key === "Enter" && this.hits?.[0]) this.openHit(this.hits[0]);
      return false;
    }
    // The settings form and the report own the keyboard while open, but for Esc.
    if ((this.settings || this.report || this.review) && action !== "back") return false;
    switch (action) {
      case "down":
      case "up":
        if (this.help) break;
        this.selected = move(this.selected, this.items, action === "down" ? 1 : -1, this.#lastIndex);
        this.focusDetail = false;
        break;
      case "open":
        this.open(this.selected);
        break;
      case "back":
        // Esc in a review field (a note, a rule) leaves the field, not the review.
        if (this.review && k.typing) this.#surface.blurField();
        else if (this.review) this.review = false;
        else if (this.report) this.report = false;
        else if (this.settings) this.settings = false;
        else if (this.help) this.help = false;
        else if (k.typing) {
          this.clearSearch();
          this.#surface.blurSearch();
        } else this.focusDetail = false;
        break;
      case "search":
        this.#surface.focusSearch();
        break;
      case "help":
        this.help = !this.help;
        break;
      case "settings":
        this.settings = true;
        break;
      case "report":
        this.report = true;
        break;
      case "review":
        this.review = true;
        break;
      case "accept":
      case "edit":
      case "reject":
        if (!this.help) this.#surface.draftAction(action);
        break;
      case "page-down":
      case "page-up":
      case "transcript-start":
      case "transcript-end":
      case "handoff-point":
        if (!this.help) this.#surface.moveTranscript(action);
        break;
      case "view-mine":
        this.view = "mine";
        break;
      case "view-groups":
        this.view = "groups";
        break;
      case "view-all":
        this.view = "all";
        break;
    }
    return true;
  }

  /** A row clicked: selected, the focus stays in the queue. */
  select(id: number) {
    this.selected = id;
    this.focusDetail = false;
  }

  /** Enter or a double click: the conversation selected and the focus in it. */
  open(id: number | null) {
    if (id === null) return;
    this.selected = id;
    this.focusDetail = true;
    this.#surface.focusDetail();
  }

  openHit(h: SearchHit) {
    this.selected = h.conversation_id;
    this.clearSearch();
    this.focusDetail = true;
  }

  /** A notification was clicked, or a handoff picked in the review: that conversation, open,
   * whatever was on screen (one that left the queue shows in the detail pane all the same). */
  openFromNotification(id: number) {
    this.help = this.settings = this.report = this.review = false;
    this.clearSearch();
    if (!this.items.some((i) => i.id === id)) {
      // The filters hide it: show everything rather than a selection the list cannot show.
      this.view = "all";
      this.channels = [];
      this.statusFilter = [];
      this.sources = [];
    }
    this.open(id);
  }

  clearSearch() {
    this.query = "";
    this.hits = null;
  }

  /** The search box changed: search once the rep pauses; an empty box shows the queue. */
  searchTyped() {
    clearTimeout(this.#searchTimer);
    const q = this.query.trim();
    if (q === "") {
      this.hits = null;
      return;
    }
    this.#searchTimer = setTimeout(async () => {
      try {
        this.hits = await this.#backend.search(q);
      } catch (e) {
        this.loadError = errorText(e);
      }
    }, SEARCH_PAUSE_MS);
  }

  async refreshQueue() {
    try {
      this.all = await this.#backend.queue();
      this.loadError = null;
      // New rows never move the selection; one that left stays shown until the rep moves.
      if (this.selected === null) this.selected = this.items[0]?.id ?? null;
    } catch (e) {
      this.loadError = errorText(e);
    } finally {
      this.loaded = true;
    }
  }

  async loadDetail(id: number | null) {
    if (id === null) {
      this.detail = null;
      return;
    }
    try {
      const d = await this.#backend.detail(id);
      if (this.selected === id) this.detail = d;
      this.detailError = null;
    } catch (e) {
      this.detailError = errorText(e);
    }
  }

  async loadInfo() {
    try {
      this.info = await this.#backend.appInfo();
      const next: Record<string, AccountStatus> = {};
      for (const s of await this.#backend.statuses()) next[s.account_id] = s;
      this.statuses = next;
    } catch (e) {
      this.loadError = errorText(e);
    }
  }

  statusChanged(s: AccountStatus) {
    this.statuses = { ...this.statuses, [s.account_id]: s };
  }

  storeChanged(change: Change) {
    // Accounts changed (added, removed, demo left): who "me" is and the chips change too.
    if (change.kind === "accounts") void this.loadInfo();
    if (change.kind === "conversations" && this.#touchedCount + change.external_ids.length <= MERGE_AT_MOST) {
      const ids = this.#touched.get(change.account_id) ?? new Set<string>();
      for (const id of change.external_ids) ids.add(id);
      this.#touched.set(change.account_id, ids);
      this.#touchedCount += change.external_ids.length;
    } else this.#everything = true;
    clearTimeout(this.#burst);
    this.#burst = setTimeout(() => {
      const [these, full] = [this.#touched, this.#everything];
      this.#touched = new Map();
      this.#touchedCount = 0;
      this.#everything = false;
      this.#refreshing = this.#refreshing.then(() => this.#refreshAfter(these, full));
    }, BURST_MS);
  }

  /** Re-reads what a burst of changes touched: only those rows (a few milliseconds at any
   * queue size), or the whole queue. The open conversation is re-read if it was touched. */
  async #refreshAfter(these: Touched, full: boolean) {
    const open = this.all.find((i) => i.id === this.selected) ?? (this.detail && this.detail.item.id === this.selected ? this.detail.item : null);
    if (full) await this.refreshQueue();
    else {
      try {
        const rows = await Promise.all([...these].map(([account_id, ids]) => this.#backend.queue({ account_id, external_ids: [...ids] })));
        this.all = mergeRows(this.all, these, rows.flat());
        this.loadError = null;
      } catch (e) {
        this.loadError = errorText(e);
      }
    }
    if (full || !open || these.get(open.account_id)?.has(open.external_id)) await this.loadDetail(this.selected);
  }
}
