import { Catalog, popularList, rankPopular, ServingMsg, type CatalogEntry, type CatalogPull, type PopularList, type PopularityWindow, type Ranked, type TitleFilterSpec } from '../actors/serving/index.js';
import type { ClusterClient } from '../cluster/index.js';

/** How often the gateway pulls the cluster's catalog changes, by default. */
export const POPULAR_REFRESH_MS = 2_000;
/** Titles per popular list. */
const POPULAR_LIMIT = 1000;

/**
 * The popular titles of each window, from the gateway's own copy of the cluster's catalog:
 * what PopularTitles answers from, and the fallback list that answers Recommend when the
 * personalised path fails or misses its budget. Kept in the gateway, so that a fallback needs
 * no message at all. The copy is kept up to date as a node's is: each round asks every node
 * for its book's changes since the last round (`serving.catalog`), so a quiet catalog costs
 * nothing. (Asking one node for whole lists each round made the gateway decode thousands of
 * entries every two seconds, keep them two seconds and drop them: a full garbage collection
 * every few seconds, 10–16 ms each, on the serving path.)
 */
export class PopularLists {
  private readonly catalog = new Catalog();
  /** Lists made since the catalog last changed, by window. */
  private readonly lists = new Map<PopularityWindow, PopularList>();
  private listsOf = -1;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  /** When a round last reached a node (ms), 0 before the first. */
  refreshedAtMs = 0;

  constructor(private readonly client: Pick<ClusterClient, 'ownerNodes' | 'system'>) {}

  /** Refreshes now and every `ms` until `stop`. */
  start(ms = POPULAR_REFRESH_MS): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Whether a fallback list exists (health: RecommendationService can answer something). */
  get ready(): boolean {
    return this.refreshedAtMs > 0;
  }

  /**
   * Until a round has reached a node (the fallback exists), refreshing meanwhile; false if
   * `timeoutMs` passes first. What a process that serves at once waits for before it says so.
   */
  async untilReady(timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (let delay = 20; !this.ready && Date.now() < end; delay = Math.min(500, delay * 2)) {
      if (!(await this.refresh())) await new Promise((r) => setTimeout(r, delay));
    }
    return this.ready;
  }

  /** One round: every node's catalog changes merged in; true when at least one node answered. */
  async refresh(): Promise<boolean> {
    const owners = this.client.ownerNodes();
    if (owners.length === 0 || this.refreshing) return false;
    this.refreshing = true;
    try {
      const answered = await this.catalog.pullFrom(owners, async (node, since) => (await this.client.system.askNode<CatalogPull>(node, ServingMsg.Catalog, since, { deadlineMs: 2_000 })).value);
      if (answered === 0) return false;
      this.refreshedAtMs = Date.now();
      return true;
    } finally {
      this.refreshing = false;
    }
  }

  /** The list of `window`, made once per change of the catalog. */
  private list(window: PopularityWindow): PopularList {
    if (this.listsOf !== this.catalog.changes) {
      this.lists.clear();
      this.listsOf = this.catalog.changes;
    }
    let l = this.lists.get(window);
    if (l === undefined) this.lists.set(window, (l = popularList(this.catalog, window, POPULAR_LIMIT)));
    return l;
  }

  /** The list of `window`, filtered, leaving out `excluded`, at most `limit`: reason TRENDING for a day, POPULAR_NOW otherwise. */
  ranked(window: PopularityWindow, filter: TitleFilterSpec | undefined, excluded: (titleId: string) => boolean, limit: number): { ranked: Ranked[]; computedAtMs: number } {
    if (!this.ready) return { ranked: [], computedAtMs: 0 };
    const list = this.list(window);
    const ranked = rankPopular(this.catalog, { filter: this.catalog.compile(filter), excluded, limit, diversity: 0, backfill: false }, [], list.entries);
    if (window === 'DAY') for (const r of ranked) r.reason = 'TRENDING';
    return { ranked, computedAtMs: list.computedAtMs };
  }

  /** A title of the catalog, for details. */
  entry(titleId: string): CatalogEntry | undefined {
    return this.catalog.get(titleId);
  }
}
