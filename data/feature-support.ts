import { TitleFeaturesBuilder, type TitleFeatures } from '../models/title-features.js';

/**
 * Title features kept only when enough distinct supporters back them: a tag needs several
 * users (one user's typo is not a feature), a knowledge-graph entity several titles (a
 * feature of one title carries nothing across titles). Holds every candidate until `build`.
 */
export class SupportedFeatures {
  /** Each candidate feature's titles, in the order first seen, so ids follow the files. */
  private readonly titles = new Map<string, Set<string>>();
  private readonly supporters = new Map<string, Set<string>>();

  /** `title` has feature `name`, backed by `supporter` (a user; by default the title itself). */
  add(title: string, name: string, supporter: string = title): void {
    let t = this.titles.get(name);
    if (t === undefined) {
      this.titles.set(name, (t = new Set()));
      this.supporters.set(name, new Set());
    }
    t.add(title);
    this.supporters.get(name)!.add(supporter);
  }

  /** The features backed by at least `minSupporters` distinct supporters. */
  build(minSupporters: number): TitleFeatures {
    const b = new TitleFeaturesBuilder();
    for (const [name, titles] of this.titles) {
      if (this.supporters.get(name)!.size < minSupporters) continue;
      for (const t of titles) b.add(t, name);
    }
    return b.build();
  }
}
