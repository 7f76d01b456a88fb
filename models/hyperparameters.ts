import { ModelArgumentError } from './errors.js';

/** Per field of `T`: what it must be (for the message) and the check. */
export type HyperparameterChecks<T> = { [K in keyof T]-?: readonly [string, (v: NonNullable<T[K]>) => boolean] };

/**
 * The caller's hyperparameters `hp` over `defaults`, each given field checked. Throws
 * `ModelArgumentError` naming every bad field at once (undefined fields take their default).
 */
export function parseHyperparameters<T extends object>(model: string, checks: HyperparameterChecks<T>, defaults: Required<T>, hp: T): Required<T> {
  const out = { ...defaults };
  const bad: string[] = [];
  const fields: string[] = [];
  for (const key of Object.keys(checks) as (keyof T & string)[]) {
    const v = hp[key];
    if (v === undefined) continue;
    const [want, ok] = checks[key];
    if (!ok(v as NonNullable<T[typeof key]>)) {
      bad.push(`${key} must be ${want}, got ${String(v)}`);
      fields.push(key);
    } else {
      out[key] = v as Required<T>[typeof key];
    }
  }
  if (bad.length > 0) throw new ModelArgumentError(`bad ${model} hyperparameters: ${bad.join('; ')}`, fields);
  return out;
}

export const isWholeIn = (lo: number, hi: number) => (v: number): boolean => Number.isInteger(v) && v >= lo && v <= hi;
export const isNonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;
export const isPositive = (v: number): boolean => Number.isFinite(v) && v > 0;
