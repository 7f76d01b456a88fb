import { MAX_ID_CHARS } from '../actors/index.js';
import type { RequestContext__Output } from '../protos/generated/reel/v1/RequestContext.js';
import type { TitleFilter__Output } from '../protos/generated/reel/v1/TitleFilter.js';
import { ApiError, type ErrorReason, type FieldViolation } from './errors.js';

/** `page_size` 0 (or unset) means this many. */
export const DEFAULT_PAGE_SIZE = 20;
/** A larger `page_size` is clamped to this, not refused (API.md). */
export const MAX_PAGE_SIZE = 1000;
/** Entries of `context.attributes` at most. */
export const MAX_CONTEXT_ATTRIBUTES = 32;

/**
 * Checks a request field by field, collecting every violation (AIP-193: the caller fixes them
 * all at once), each named by its proto path. `done()` throws INVALID_ARGUMENT with all of
 * them, its ErrorInfo reason the first violation's.
 */
export class RequestCheck {
  private readonly violations: Array<FieldViolation & { reason: ErrorReason }> = [];

  add(field: string, reason: ErrorReason, description: string): void {
    this.violations.push({ field, reason, description });
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  /** A required id: non-empty, at most `MAX_ID_CHARS` characters. */
  id(field: string, v: string | undefined): string {
    const s = v ?? '';
    if (s === '') this.add(field, 'MISSING_FIELD', 'is required');
    else if (s.length > MAX_ID_CHARS) this.add(field, 'VALUE_OUT_OF_RANGE', `must be at most ${MAX_ID_CHARS} characters (got ${s.length})`);
    return s;
  }

  /** An optional id: empty, or as `id`. */
  optionalId(field: string, v: string | undefined): string {
    return v === undefined || v === '' ? '' : this.id(field, v);
  }

  /** `page_size`: 0 → the default, negative refused, above the maximum clamped. */
  pageSize(field: string, v: number | undefined): number {
    const n = v ?? 0;
    if (n < 0) {
      this.add(field, 'INVALID_PAGE_SIZE', `must not be negative (got ${n}); 0 means ${DEFAULT_PAGE_SIZE}`);
      return DEFAULT_PAGE_SIZE;
    }
    return n === 0 ? DEFAULT_PAGE_SIZE : Math.min(n, MAX_PAGE_SIZE);
  }

  /**
   * An enum field as the loader gives it (enums as names): a number is a value this server's
   * protos do not know (a newer client, or garbage), refused as INVALID_ENUM.
   */
  enumValue<T extends string>(field: string, v: T | number | undefined, fallback: T): T {
    if (typeof v === 'number') {
      this.add(field, 'INVALID_ENUM', `${v} is not a value of this enum`);
      return fallback;
    }
    return v ?? fallback;
  }

  /** An optional number in [min, max]. */
  range(field: string, v: number | undefined, min: number, max: number): number | undefined {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v) || v < min || v > max) this.add(field, 'VALUE_OUT_OF_RANGE', `must be from ${min} to ${max} (got ${v})`);
    return v;
  }

  /** The request context: `local_hour` 0-23, at most 32 attributes, a known device. */
  context(field: string, c: RequestContext__Output | null | undefined): void {
    if (c === null || c === undefined) return;
    this.range(`${field}.local_hour`, c.localHour, 0, 23);
    this.enumValue(`${field}.device`, c.device as string | number, 'DEVICE_TYPE_UNSPECIFIED');
    const n = Object.keys(c.attributes ?? {}).length;
    if (n > MAX_CONTEXT_ATTRIBUTES) this.add(`${field}.attributes`, 'VALUE_OUT_OF_RANGE', `must have at most ${MAX_CONTEXT_ATTRIBUTES} entries (got ${n})`);
  }

  /** A title filter: the year bounds in order; no empty genre or title id. */
  filter(field: string, f: TitleFilter__Output | null | undefined): void {
    if (f === null || f === undefined) return;
    if (f.minReleaseYear !== undefined && f.maxReleaseYear !== undefined && f.minReleaseYear > f.maxReleaseYear) {
      this.add(`${field}.min_release_year`, 'VALUE_OUT_OF_RANGE', `must not be above ${field}.max_release_year (${f.minReleaseYear} > ${f.maxReleaseYear})`);
    }
    for (const [name, list] of [['include_genres', f.includeGenres], ['exclude_genres', f.excludeGenres], ['exclude_title_ids', f.excludeTitleIds]] as const) {
      list.forEach((v, i) => {
        if (v === '') this.add(`${field}.${name}[${i}]`, 'MISSING_FIELD', 'must not be empty');
      });
    }
  }

  /** Throws INVALID_ARGUMENT with every violation found, if any. */
  done(): void {
    if (this.violations.length === 0) return;
    throw ApiError.invalid(this.violations[0]!.reason, this.violations.map(({ field, description }) => ({ field, description })));
  }
}
