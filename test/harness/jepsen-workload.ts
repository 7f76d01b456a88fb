import { expect } from 'vitest';
import type { ReelError } from '../../runtime/errors.js';
import { activationStarts, overlappingActivations, type TestCluster } from './cluster.js';
import { waitFor } from './wait.js';

/**
 * The Jepsen-style workload of the correctness tests: open-loop asks, each with its own id, to
 * test actors that persist before answering (`applyDurable`), while the test injects faults;
 * then a check of every acknowledged op against what each actor holds, and of every activation.
 */
export interface JepsenWorkload {
  /** Asks sent so far. */
  readonly sent: () => number;
  /** Resolves once `n` more asks have been sent than when called. */
  sentMore(n: number, timeoutMs?: number): Promise<void>;
  /** Stops sending (idempotent): for a test's `finally`. */
  stop(): void;
  /** Stops sending, waits for every ask to settle and checks the outcome. */
  finish(): Promise<JepsenOutcome>;
}

export interface JepsenOutcome {
  sent: number;
  acknowledged: number;
  applied: number;
  failed: number;
  /** Failed asks by error code. */
  failures: Record<string, number>;
  /** Acknowledged ops no actor holds. */
  lost: number;
  /** Ops an actor holds more than once. */
  twice: number;
  /** Ops held by a key they were not sent to. */
  stray: number;
  activations: number;
  /** Two activations of one key alive at once, as the nodes' events tell. */
  overlaps: string[];
  /** Shards no node answered for at the end. */
  unserved: number[];
  /** One line for the test's log. */
  summary: string;
  /** For the first few keys holding an op twice: what they hold and every event the nodes sent about them. */
  twiceDetail: string[];
}

export function startJepsenWorkload(c: TestCluster, o: { keys: number; ratePerS: number; deadlineMs: number; keyPrefix?: string }): JepsenWorkload {
  const sys = c.client.system;
  const keys = Array.from({ length: o.keys }, (_, i) => `${o.keyPrefix ?? 'j'}${i}`);
  const sentTo = new Map<string, string>(); // id → key
  const outcome = new Map<string, 'ok' | 'failed'>();
  const failures: Record<string, number> = {};
  let seq = 0;
  let inFlight = 0;
  // Open loop: a fixed rate whatever the answers do; each ask has its own id.
  const gen = setInterval(() => {
    for (let i = 0; i < o.ratePerS / 20; i++) {
      const key = keys[seq % o.keys]!;
      const id = `op-${seq++}`;
      sentTo.set(id, key);
      inFlight++;
      sys.ask('test', key, 'applyDurable', undefined, { id, deadlineMs: o.deadlineMs }).then(
        () => outcome.set(id, 'ok'),
        (e: ReelError) => {
          outcome.set(id, 'failed');
          failures[e.code] = (failures[e.code] ?? 0) + 1;
        },
      ).finally(() => inFlight--);
    }
  }, 50);
  return {
    sent: () => seq,
    sentMore(n, timeoutMs = 20_000) {
      const want = seq + n;
      return waitFor(`${want} asks sent`, () => seq >= want, { timeoutMs });
    },
    stop: () => clearInterval(gen),
    async finish() {
      clearInterval(gen);
      await waitFor('every ask settled', () => inFlight === 0, { timeoutMs: o.deadlineMs + 5_000 });
      // Every acknowledged op applied exactly once; nothing applied that was not sent to that key.
      let lost = 0;
      let twice = 0;
      let stray = 0;
      let applied = 0;
      const seen = new Set<string>();
      const twiceDetail: string[] = [];
      for (const key of keys) {
        const ids = await sys.ask<string[]>('test', key, 'applied', undefined, { deadlineMs: 10_000 });
        const mine = new Set<string>();
        for (const id of ids) {
          if (mine.has(id) && twiceDetail.length < 3) twiceDetail.push(describeKey(c, key, id, ids));
          if (mine.has(id)) twice++;
          mine.add(id);
          if (sentTo.get(id) !== key) stray++;
          seen.add(id);
        }
        applied += ids.length;
      }
      for (const [id, r] of outcome) if (r === 'ok' && !seen.has(id)) lost++;
      const acknowledged = [...outcome.values()].filter((r) => r === 'ok').length;
      const overlaps = overlappingActivations(c.processes());
      const activations = activationStarts(c.processes());
      const unserved = (await c.client.scatter.gather('status', undefined, { deadlineMs: 2_000 })).missingShards;
      const failed = outcome.size - acknowledged;
      const summary =
        `${seq} asks, ${acknowledged} acknowledged, ${applied} applied, ${failed} failed ${JSON.stringify(failures)}; ` +
        `lost ${lost}, applied twice ${twice}, stray ${stray}; ${activations} activations, ${overlaps.length} overlapping; unserved shards ${unserved.length}`;
      return { sent: seq, acknowledged, applied, failed, failures, lost, twice, stray, activations, overlaps, unserved, summary, twiceDetail };
    },
  };
}

/** An op held twice by `key`: where in its list, and the nodes' events and log lines about the key, in the order received. */
function describeKey(c: TestCluster, key: string, id: string, ids: string[]): string {
  const at = ids.flatMap((x, i) => (x === id ? [i] : []));
  const lines = c
    .processes()
    .flatMap((p) => p.events.map((e) => ({ p, e })))
    .filter(({ e }) => e.key === key || (typeof e.msg === 'string' && /cut off|reconnect|claimed|lost|took back/.test(e.msg)))
    .sort((a, b) => a.e.recvMono - b.e.recvMono)
    .map(({ e }) => JSON.stringify(e));
  return `${key} holds ${id} at ${at.join(', ')} of ${ids.length}:\n  ${lines.join('\n  ')}`;
}

/**
 * What every fault run must end with: no acknowledged op lost, none applied twice or to another
 * key, no two activations of a key at once, every shard served, and most asks acknowledged.
 */
export function expectJepsenInvariants(r: JepsenOutcome): void {
  expect(r.lost, 'acknowledged ops lost').toBe(0);
  if (r.twice > 0) console.log(`ops applied twice:\n${r.twiceDetail.join('\n')}`);
  expect(r.twice, 'ops applied twice').toBe(0);
  expect(r.stray, 'ops applied to a key they were not sent to').toBe(0);
  expect(r.overlaps).toEqual([]);
  expect(r.unserved).toEqual([]);
  expect(r.acknowledged).toBeGreaterThan(r.sent / 2);
}
