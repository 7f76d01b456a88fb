import type { ActorAddress } from '../runtime/index.js';
import { requireObject, Violations } from './decode.js';
import { labels, MAX_GENRES, mergeLabels, terms } from './title-metadata.js';

/** What a user's profile upsert carries (`reel.v1.User`'s writable fields); absent ones are left as they are. */
export interface UserProfileBody {
  /** Merged key by key into those held. */
  labels?: Record<string, string>;
  /** Genres chosen at onboarding; replace those held (an empty list clears them). */
  preferredGenres?: string[];
}

/** What a user snapshot keeps of its profile; absent fields were never set. */
export type StoredUserProfile = UserProfileBody;

/** Checks a `profile` body before it touches state; a fresh body of the known fields. Throws `InvalidArgument` naming every bad field. */
export function decodeUserProfile(body: unknown, to: ActorAddress): UserProfileBody {
  const b = requireObject(body, to, 'profile');
  const bad = new Violations();
  const out: UserProfileBody = {};
  if (b.labels !== undefined) {
    const l = labels(bad, 'labels', b.labels);
    if (l) out.labels = l;
  }
  if (b.preferredGenres !== undefined) {
    const g = terms(bad, 'preferredGenres', b.preferredGenres, MAX_GENRES);
    if (g) out.preferredGenres = [...new Set(g)];
  }
  bad.throwIfAny(to, 'profile');
  return out;
}

/** A user's profile: the same upsert twice changes nothing; labels merge, preferred genres are replaced. */
export class UserProfile {
  private readonly p: StoredUserProfile;

  constructor(stored?: StoredUserProfile) {
    this.p = stored ? { ...stored } : {};
  }

  /** Applies a decoded body; true when something changed. */
  upsert(b: UserProfileBody): boolean {
    let changed = b.labels !== undefined && mergeLabels(this.p, b.labels);
    const g = b.preferredGenres;
    if (g !== undefined && !(this.p.preferredGenres?.length === g.length && g.every((x, i) => x === this.p.preferredGenres![i]))) {
      this.p.preferredGenres = g.slice();
      changed = true;
    }
    return changed;
  }

  /** Whether anything was ever set. */
  get empty(): boolean {
    return Object.keys(this.p).length === 0;
  }

  /** For the snapshot: undefined while nothing was ever set. */
  stored(): StoredUserProfile | undefined {
    return this.empty ? undefined : this.p;
  }

  view(): { labels: Record<string, string>; preferredGenres: string[] } {
    return { labels: { ...this.p.labels }, preferredGenres: this.p.preferredGenres?.slice() ?? [] };
  }
}
