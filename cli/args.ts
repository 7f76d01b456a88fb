import { InvalidArgumentError } from 'commander';
import { MODEL_VERSION_PATTERN } from '../actors/training/index.js';
import { NODE_ID_PATTERN } from '../runtime/index.js';

/**
 * Parsers of command-line values, for commander's `.option(…, parser)` and `.argument(…, parser)`.
 * Every value is checked here, while the command line is parsed and before anything connects or
 * starts; commander names the flag or argument in its message and the command exits 2. What needs
 * the cluster to judge (a shard's upper bound) is checked once connected.
 */

/** A positive number of seconds (`--timeout`). */
export function seconds(v: string): number {
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds.');
  return n;
}

/** A shard number: a non-negative integer (its upper bound is the cluster's shard count). */
export function shardNumber(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError('expected a shard number, a non-negative integer.');
  return Number(v);
}

/** A node id, as nodes are named: one NATS subject token. */
export function nodeId(v: string): string {
  if (!NODE_ID_PATTERN.test(v)) throw new InvalidArgumentError(`expected a node id matching ${NODE_ID_PATTERN}.`);
  return v;
}

/** A model version id (`reel models show V`). */
export function modelVersion(v: string): string {
  if (!MODEL_VERSION_PATTERN.test(v)) throw new InvalidArgumentError(`expected a model version id matching ${MODEL_VERSION_PATTERN}.`);
  return v;
}

/** An integer in [min, max] (`--nodes`, ports). */
export function integerIn(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return Number(v);
  };
}

/** A TCP port to listen on: 1-65535. */
export const port = integerIn(1, 65535);

/** A finite number from `v`, or NaN (an empty string is not 0). */
function finite(v: string): number {
  return v.trim() === '' ? Number.NaN : Number(v);
}

/** A positive finite number (`--lr`). */
export function positiveNumber(v: string): number {
  const n = finite(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

/** A finite number ≥ 0 (`--reg`). */
export function nonNegativeNumber(v: string): number {
  const n = finite(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0.');
  return n;
}
