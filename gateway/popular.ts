import { Catalog, rankPopular, ServingMsg, type CatalogEntry, type PopularList, type PopularityWindow, type Ranked, type TitleFilterSpec } from '../actors/serving/index.js';
import type { ClusterClient } from '../cluster/index.js';

/** How often the gateway refreshes its popular lists from a node, by default. */
export const POPULAR_REFRESH_MS = 2_000;
/** Titles per popular list. */
const POPULAR_LIMIT = 1000;
const WINDOWS: readonly PopularityWindow[] = ['ALL_TIME', 'DAY', 'WEEK', 'MONTH'];

/**
 * The popular titles of each window, as the cluster's nodes compute them from their catalogs,
 * refreshed in the background: what PopularTitles answers from, and the fallback list that
 * answers Recommend when the personalised path fails or misses its budget. Kept in the gateway,
 * so that a fallback needs no message at all.
 */
export class PopularLists {
  private readonly lists = new Map<PopularityWindow, PopularList>();
  /** The lists' titles, for filters and details. */
  private catalog = new Catalog();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  /** When a refresh last succeeded (ms), 0 before the first. */
  refreshedAtMs = 0;

  constructor(private readonly client: Pick<ClusterClient, 'owners' | 'system'>) {}

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

  /** Asks one node (in turn) for every window's list; a node that fails is skipped until the next round. */
  async refresh(): Promise<boolean> {
    const owners = this.client.owners();
    if (owners.length === 0) return false;
    const node = owners[this.next++ % owners.length]!;
    try {
      const got = await Promise.all(WINDOWS.map((window) => this.client.system.askNode<PopularList>(node, ServingMsg.Popular, { window, limit: POPULAR_LIMIT }, { deadlineMs: 2_000 })));
      for (const g of got) this.lists.set(g.value.window === 'ALL_TIME' ? 'ALL_TIME' : g.value.window, g.value);
      // Every window's titles, for filters (a title trending today may not be in the all-time list).
      const catalog = new Catalog();
      for (const g of got) catalog.merge(g.value.entries);
      this.catalog = catalog;
      this.refreshedAtMs = Date.now();
      return true;
    } catch {
      return false;
    }
  }

  /** The list of `window`, filtered, leaving out `excluded`, at most `limit`: reason TRENDING for a day, POPULAR_NOW otherwise. */
  ranked(window: PopularityWindow, filter: TitleFilterSpec | undefined, excluded: (titleId: string) => boolean, limit: number): { ranked: Ranked[]; computedAtMs: number } {
    const list = this.lists.get(window);
    if (list === undefined) return { ranked: [], computedAtMs: 0 };
    const ranked = rankPopular(this.catalog, { filter: this.catalog.compile(filter), excluded, limit, diversity: 0, backfill: false }, [], list.entries);
    if (window === 'DAY') for (const r of ranked) r.reason = 'TRENDING';
    return { ranked, computedAtMs: list.computedAtMs };
  }

  /** A title of the lists, for details. */
  entry(titleId: string): CatalogEntry | undefined {
    return this.catalog.get(titleId);
  }
}
