import type { KV } from '@nats-io/kv';
import { afterEach, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../test/harness/nats-server.js';
import { natsPerFile } from '../test/harness/nats-per-file.js';
import { waitFor } from '../test/harness/wait.js';
import type { ShardId } from '../runtime/index.js';
import { openClusterKv } from './cluster-kv.js';
import { ClusterView } from './cluster-view.js';
import { Membership } from './membership.js';
import { OwnershipManager, type OwnershipTimings, type ShardHost } from './ownership.js';

const S = 8;
const T: OwnershipTimings = { leaseMs: 1000, renewMs: 250, safetyMarginMs: 250, heartbeatWindowMs: 1500, tickMs: 100 };
const STEP_MS = 50;

/** A node's clocks, moved by the test: wall (a label, may jump) and monotonic. */
class TestClock {
  constructor(
    public wall: number,
    public mono: number,
  ) {}
  wallMs(): number {
    return this.wall;
  }
  monoMs(): number {
    return this.mono;
  }
  /** What an older reel read as its only clock. */
  now(): number {
    return this.wall;
  }
}

/** What ownership drives, recorded; `unhost` answers from a script (a count of unwritten actors, or a throw). */
class FakeHost implements ShardHost {
  readonly hosted = new Set<ShardId>();
  abandoned = 0;
  unhosts = 0;
  /** The shards of each unhost, in order (a handoff unhosts shard by shard). */
  readonly unhosted: ShardId[][] = [];
  script: Array<number | Error> = [];
  /** When set, every unhost after the first `freeUnhosts` waits for it. */
  gate: Promise<void> | undefined;
  freeUnhosts = 1;
  async host(shards: readonly ShardId[]): Promise<void> {
    for (const s of shards) this.hosted.add(s);
  }
  async unhost(shards: readonly ShardId[]): Promise<number> {
    this.unhosts++;
    this.unhosted.push([...shards]);
    if (this.gate !== undefined && this.unhosts > this.freeUnhosts) await this.gate;
    const r = this.script.shift() ?? 0;
    if (r instanceof Error) throw r;
    if (r === 0) for (const s of shards) this.hosted.delete(s);
    return r;
  }
  async abandonShards(shards: readonly ShardId[]): Promise<void> {
    this.abandoned += shards.length;
    for (const s of shards) {
      this.hosted.delete(s);
      this.parked.delete(s);
      this.abandonedShards.push(s);
    }
  }
  /** Shards whose actors are parked (cut off), and the epoch each parked shard's actors carried on under. */
  readonly parked = new Set<ShardId>();
  readonly carried = new Map<ShardId, number>();
  readonly abandonedShards: ShardId[] = [];
  async parkShards(shards: readonly ShardId[]): Promise<void> {
    for (const s of shards) {
      this.hosted.delete(s);
      this.parked.add(s);
    }
  }
  carryOn(shard: ShardId, epoch: number): number {
    if (!this.parked.delete(shard)) return 0;
    this.carried.set(shard, epoch);
    return 1;
  }
}

interface Node {
  id: string;
  clock: TestClock;
  view: ClusterView;
  host: FakeHost;
  m: OwnershipManager;
  /** Whether it heartbeats and reconciles (false: paused or cut off). */
  running: boolean;
  /** Reconciles (renews its leases) but writes no heartbeat. */
  silent?: boolean;
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('ownership under faults (real KV, clocks moved by the test)', () => {
  const broker = natsPerFile();
  let kv: KV;
  const nodes: Node[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) {
      await n.m.stop();
      n.view.close();
    }
  });

  async function bucket(label: string): Promise<KV> {
    kv = await openClusterKv(broker.nc, uniquePrefix(label));
    return kv;
  }

  /** A member entry, as a node writes it: every beat a new revision. */
  async function beat(id: string, clock: TestClock, extra: Record<string, unknown> = {}): Promise<void> {
    await kv.put(`members.${id}`, enc({ id, roles: ['node'], weight: 1, incarnation: `${id}-1`, codecVersion: 4, startedAt: 0, version: 'test', heartbeatAt: clock.wall, ...extra }));
  }

  async function node(id: string, clock: TestClock, opts: { kv?: KV; timings?: OwnershipTimings } = {}): Promise<Node> {
    const view = new ClusterView(opts.kv ?? kv, clock, { refreshMs: 60_000 });
    await view.open();
    const host = new FakeHost();
    const m = new OwnershipManager(view, opts.kv ?? kv, id, S, clock, host, opts.timings ?? T);
    const n: Node = { id, clock, view, host, m, running: true };
    nodes.push(n);
    return n;
  }

  /** One reconciliation, and the handoff it may have started. */
  async function settle(n: Node): Promise<void> {
    await n.view.refresh();
    await n.m.reconcile();
    await (n.m as unknown as { handoff: Promise<void> | null }).handoff;
  }

  /**
   * Time passes on every clock in steps; running nodes beat and reconcile each step, `others`
   * (entries without a manager) beat too, and `check` runs after each step.
   */
  async function run(ms: number, check: () => void = () => undefined, others: Array<{ id: string; extra?: Record<string, unknown> }> = []): Promise<void> {
    for (let t = 0; t < ms; t += STEP_MS) {
      for (const n of nodes) {
        n.clock.wall += STEP_MS;
        n.clock.mono += STEP_MS;
      }
      for (const o of others) await beat(o.id, nodes[0]!.clock, o.extra);
      for (const n of nodes) if (n.running && !n.silent) await beat(n.id, n.clock);
      for (const n of nodes) if (n.running) await settle(n);
      check();
    }
  }

  /** Shards both nodes serve at once, each judged by its own clock. */
  const overlap = (a: Node, b: Node) => Array.from({ length: S }, (_, s) => s).filter((s) => a.m.servingEpoch(s, a.clock.mono) > 0 && b.m.servingEpoch(s, b.clock.mono) > 0);

  it('ownership - a handoff whose unhost fails is rolled back: the shards are served again and handed off later (finding 7)', async () => {
    await bucket('f7');
    const a = await node('a', new TestClock(1e12, 1000));
    await run(200);
    expect(a.m.owned()).toHaveLength(S);
    a.host.script = [new Error('NATS transport is closed')];
    // A member b appears (an entry that keeps changing): part of a's shards are b's now.
    await beat('b', a.clock);
    await settle(a);
    // Handed off shard by shard: the first unhost failed, that shard is rolled back and served here
    // again; the others were released.
    const moved = a.host.unhosts;
    expect(moved).toBeGreaterThan(1);
    const failed = a.host.unhosted[0]![0]!;
    expect(a.m.servingEpoch(failed, a.clock.mono), `shard ${failed} stuck`).toBeGreaterThan(0);
    for (const s of a.m.owned()) expect(a.m.servingEpoch(s, a.clock.mono), `shard ${s} stuck`).toBeGreaterThan(0);
    expect(a.m.stats.handoffFailures).toBe(1);
    const releasedNow = Array.from({ length: S }, (_, s) => a.view.shard(s).value?.owner).filter((o) => o === '');
    expect(releasedNow).toHaveLength(moved - 1);
    // The handoff is tried again, and succeeds.
    await run(3000, undefined, [{ id: 'b' }]);
    expect(a.host.unhosts).toBeGreaterThan(moved);
    expect(a.view.shard(failed).value?.owner).toBe('');
    const released = Array.from({ length: S }, (_, s) => a.view.shard(s).value?.owner).filter((o) => o === '');
    expect(released.length + a.m.owned().length).toBe(S);
    expect(released).toHaveLength(moved);
  });

  it('ownership - a released shard is claimed as soon as it is seen, even while a reconciliation waits on another claim\'s write', async () => {
    await bucket('claimnow');
    const a = await node('a', new TestClock(1e12, 1000));
    await run(200);
    expect(a.m.owned()).toHaveLength(S);
    // b's first write of a shard entry (its first claim) waits for the test.
    let openB!: () => void;
    const bGate = new Promise<void>((r) => (openB = r));
    let held: string | undefined;
    const gated = new Proxy(kv, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        if (prop !== 'create' && prop !== 'update') return (v as (...a: unknown[]) => unknown).bind(target);
        return async (key: string, ...rest: unknown[]) => {
          if (key.startsWith('shards.') && held === undefined) {
            held = key;
            await bGate;
          }
          return (v as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      },
    });
    let openA!: () => void;
    a.host.gate = new Promise<void>((r) => (openA = r));
    const b = await node('b', new TestClock(1e12, 1000), { kv: gated });
    b.running = false; // reconciled by its own timer, not by run()
    try {
      await beat('b', b.clock);
      b.m.start();
      await beat('b', a.clock);
      await a.view.refresh();
      // a hands off b's share: the first shard is released at once, the others wait for the test.
      const handoff = settle(a);
      await waitFor('b claims the first released shard, and its write is held', () => held !== undefined);
      openA();
      // a cuts the rest one by one, each released as it is cut.
      await waitFor('a has released every shard it hands off', () => a.host.unhosts > 1 && a.m.owned().length + a.host.unhosts === S, { describe: () => ({ owned: a.m.owned().length, unhosts: a.host.unhosts }) });
      const moved = a.host.unhosts;
      // The other releases are claimed while the first claim's write still waits: a release is
      // not left for a reconciliation stuck behind it.
      await waitFor('b owns every released shard but the held one', () => b.m.owned().length === moved - 1, { describe: () => ({ owned: b.m.owned(), held }) });
      expect(b.m.owned()).not.toContain(Number(held!.slice('shards.'.length)));
      openB();
      await waitFor('b owns the held shard too', () => b.m.owned().length === moved, { describe: () => b.m.owned() });
      await handoff;
    } finally {
      openA();
      openB();
    }
  });

  it('ownership - a shard with actors that could not be written is never released (finding 8)', async () => {
    await bucket('f8');
    const a = await node('a', new TestClock(1e12, 1000));
    await run(200);
    a.host.script = [3]; // three actors of the first shard handed off could not be written
    await beat('b', a.clock);
    await settle(a);
    expect(a.host.unhosts).toBeGreaterThan(1);
    const failed = a.host.unhosted[0]![0]!;
    expect(a.view.shard(failed).value?.owner, `shard ${failed} released with unwritten actors`).toBe('a');
    expect(a.m.servingEpoch(failed, a.clock.mono)).toBeGreaterThan(0);
    // The others, all written, were released.
    for (const [s] of a.host.unhosted.slice(1)) expect(a.view.shard(s!).value?.owner).toBe('');
    for (const s of a.m.owned()) expect(a.m.servingEpoch(s, a.clock.mono)).toBeGreaterThan(0);
    expect(a.m.stats.handoffFailures).toBe(1);
  });

  it('ownership - a node whose clocks run 2 s ahead never takes a paused owner\'s shard before that owner stops (finding 10)', async () => {
    await bucket('f10');
    const a = await node('a', new TestClock(1e12, 1000));
    await run(300);
    expect(a.m.owned()).toHaveLength(S);
    const b = await node('b', new TestClock(1e12 + 2000, 90_000));
    a.running = false; // paused: no renewals, no heartbeats
    const seen: number[][] = [];
    await run(4000, () => {
      const o = overlap(a, b);
      if (o.length) seen.push(o);
    });
    expect(seen).toEqual([]);
    expect(b.m.owned()).toHaveLength(S);
    // A backwards step of b's wall clock changes nothing: no lease reads it.
    b.clock.wall -= 60_000;
    await run(500);
    expect(b.m.owned()).toHaveLength(S);
  });

  it('ownership - members are judged by change seen, not by the time they claim; nonsense entries count for nothing (finding 14)', async () => {
    await bucket('f14');
    const clock = new TestClock(1e12, 1000);
    await kv.put('members.ghost', enc({ id: 'ghost', roles: ['node'], weight: 1, incarnation: 'g', codecVersion: 4, startedAt: 0, version: 'x', heartbeatAt: 1e12 + 3_600_000 }));
    const a = await node('a', clock);
    await run(2500, undefined, [{ id: 'heavy', extra: { weight: 1e9 } }]);
    expect(a.m.owned()).toHaveLength(S);
  });

  it('ownership - an epoch past 2^53 is healed: the next claim takes a safe, higher epoch (finding 15)', async () => {
    await bucket('f15');
    const rev = await kv.put('shards.0', enc({ owner: 'ghost', epoch: 2 ** 53, leaseUntil: 0 }));
    const a = await node('a', new TestClock(1e12, 1000));
    await run(2000);
    const e = a.m.epochOf(0);
    expect(Number.isSafeInteger(e) && e > rev).toBe(true);
    expect(e + 1).toBeGreaterThan(e);
  });

  it('ownership - a deleted shard entry is waited out like any other, on every read path (finding 16)', async () => {
    await bucket('f16');
    const a = await node('a', new TestClock(1e12, 1000));
    await run(300);
    expect(a.m.owned()).toHaveLength(S);
    // a is cut off (its entry gone too); someone deletes shards.0; a fresh node starts.
    a.running = false;
    await kv.delete('members.a');
    await kv.delete('shards.0');
    const b = await node('b', new TestClock(1e12, 50_000));
    await beat('b', b.clock);
    await settle(b);
    expect(b.m.owned()).not.toContain(0);
    const seen: number[][] = [];
    await run(2500, () => {
      const o = overlap(a, b);
      if (o.length) seen.push(o);
    });
    expect(seen).toEqual([]);
    expect(b.m.owned()).toContain(0);
  });

  it('ownership - a renewal that timed out but landed does not lose the shard (finding 18)', async () => {
    await bucket('f18');
    let failed = false;
    const flaky = new Proxy(kv, {
      get(t, p) {
        if (p === 'update') {
          return async (k: string, v: Uint8Array, rev: number) => {
            const r = await t.update(k, v, rev);
            if (k === 'shards.0' && !failed && rev > 1) {
              failed = true;
              throw new Error('TIMEOUT');
            }
            return r;
          };
        }
        const v = Reflect.get(t, p) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    }) as KV;
    const a = await node('a', new TestClock(1e12, 1000), { kv: flaky });
    await run(1500);
    expect(failed).toBe(true);
    expect(a.host.abandoned).toBe(0);
    expect(a.m.owned()).toHaveLength(S);
  });

  it('ownership - a view whose watch dies restarts it and re-reads what it missed (finding 19)', async () => {
    await bucket('f19');
    const clock = new TestClock(1e12, 1000);
    const view = new ClusterView(kv, clock, { refreshMs: 60_000, watchRetryMs: 50 });
    await view.open();
    try {
      const v = view as unknown as { watch?: { stop(): void } | null; stopWatch?: () => void };
      if (v.watch) v.watch.stop();
      else v.stopWatch?.();
      await beat('late', clock);
      await waitFor('the view sees an entry written after its watch died', () => view.members.has('late'), { timeoutMs: 5_000 });
    } finally {
      view.close();
    }
  });

  it('ownership - entries of members gone for good are deleted, by compare-and-set (finding 20)', async () => {
    await bucket('f20');
    const clock = new TestClock(1e12, 1000);
    await beat('dead', clock);
    const a = await node('a', clock);
    const membership = new Membership(kv, a.view, { id: 'a', roles: ['node'], weight: 1, incarnation: 'a-1', codecVersion: 4, startedAt: 0, version: 'test' }, 250, clock, () => undefined);
    await run(1000);
    expect(await membership.sweepGone(5_000)).toEqual([]);
    await run(5000);
    expect(await membership.sweepGone(5_000)).toEqual(['dead']);
    expect((await kv.get('members.dead'))?.operation).toBe('DEL');
    expect(a.view.members.has('a')).toBe(true);
  });

  it('ownership - the placement is stored, and a node one view judged gone is not put back by a view that saw its last heartbeat later', async () => {
    await bucket('placement');
    const stored: Array<string[] | undefined> = [];
    const w = await kv.watch({ key: 'placement' });
    void (async () => {
      for await (const e of w) stored.push(e.operation === 'PUT' ? (JSON.parse(new TextDecoder().decode(e.value)) as { nodes: string[] }).nodes : undefined);
    })();
    try {
      const a = await node('a', new TestClock(1e12, 1000));
      const b = await node('b', new TestClock(1e12, 1000));
      // c heartbeats (a member with no manager): the placement is computed for a, b and c.
      await run(1500, undefined, [{ id: 'c' }]);
      await waitFor('a placement for a, b and c is stored', () => stored.at(-1)?.join() === 'a,b,c', { timeoutMs: 5_000, describe: () => stored });
      const p = a.view.storedPlacement(S);
      expect(p.table!.filter((id) => id === 'c').length).toBeGreaterThanOrEqual(2);
      // c stops. a's clock runs 1 s ahead of b's: a judges c gone a second before b does.
      a.clock.mono += 1000;
      const from = stored.length;
      await run(3000);
      await waitFor('a placement without c is stored', () => stored.at(-1)?.join() === 'a,b', { timeoutMs: 5_000, describe: () => stored });
      const since = stored.slice(from);
      const firstWithout = since.findIndex((ns) => ns !== undefined && !ns.includes('c'));
      expect(firstWithout).toBeGreaterThanOrEqual(0);
      // Once stored without c, no view put c back (b saw c's last heartbeat later, but before that placement).
      expect(since.slice(firstWithout).filter((ns) => ns?.includes('c')), JSON.stringify(since)).toEqual([]);
      expect(a.m.owned().length + b.m.owned().length).toBe(S);
      expect(Math.abs(a.m.owned().length - b.m.owned().length)).toBeLessThanOrEqual(1);
    } finally {
      w.stop();
    }
  });

  it('ownership - a re-read of a busy bucket never forgets an entry that exists (an early stop used to drop members, the node itself included)', async () => {
    await bucket('busy');
    const clock = new TestClock(1e12, 1000);
    const ids = ['a', 'b', 'c'];
    for (const id of ids) await beat(id, clock);
    const view = new ClusterView(kv, clock, { refreshMs: 60_000 });
    await view.open();
    let stop = false;
    // Renewals and heartbeats, as a busy cluster writes them: the members' entries keep being the latest.
    const writer = (async () => {
      for (let i = 1; !stop; i++) {
        await Promise.all(Array.from({ length: 32 }, (_, s) => kv.put(`shards.${s}`, enc({ owner: 'a', epoch: i }))));
        for (const id of ids) await beat(id, clock);
      }
    })();
    const missing: string[] = [];
    try {
      for (let r = 0; r < 60; r++) {
        await view.refresh();
        for (const id of ids) if (!view.members.has(id)) missing.push(`read ${r}: ${id}`);
      }
    } finally {
      stop = true;
      await writer;
      view.close();
    }
    expect(missing).toEqual([]);
  });

  it('ownership - a node whose heartbeat is late but whose leases are renewed keeps its place and its shards; once its leases lapse too, its shards move', async () => {
    await bucket('late-heartbeat');
    const a = await node('a', new TestClock(1e12, 1000));
    const b = await node('b', new TestClock(1e12, 1000));
    const c = await node('c', new TestClock(1e12, 1000));
    await run(2500);
    expect(c.m.owned().length).toBeGreaterThanOrEqual(2);
    const held = c.m.owned();
    // c's heartbeats stop for twice the window; its renewals go on.
    c.silent = true;
    await run(2 * T.heartbeatWindowMs, () => {
      expect(c.m.owned()).toEqual(held);
      expect(a.view.storedPlacement(S).nodes?.has('c')).toBe(true);
    });
    // c stops altogether: its leases lapse, and a and b take its shards.
    c.running = false;
    await run(T.heartbeatWindowMs + T.leaseMs + T.safetyMarginMs + 1000);
    expect(a.view.storedPlacement(S).nodes?.has('c')).toBe(false);
    expect(a.m.owned().length + b.m.owned().length).toBe(S);
  });

  it('ownership - a node cut off from NATS and back at once (a client moving to another server) takes back the shards nobody wrote since, not after its lease, and their parked actors carry on; one another node claimed meanwhile stays with it, its actors dropped', async () => {
    await bucket('reclaim');
    const a = await node('a', new TestClock(1e12, 1000));
    await run(200);
    expect(a.m.owned()).toHaveLength(S);
    const before = new Map(a.m.owned().map((s) => [s, a.m.servingEpoch(s, a.clock.mono)]));
    await a.m.suspend('disconnected from NATS');
    expect(a.m.owned()).toEqual([]);
    // Parked, not dropped: nothing abandoned yet.
    expect([...a.host.parked].sort()).toEqual(Array.from({ length: S }, (_, s) => s));
    expect(a.host.abandonedShards).toEqual([]);
    // Meanwhile another writer takes shard 3 (as a node would once a's lease was seen to run out).
    const rec = a.view.shard(3);
    await kv.update('shards.3', enc({ owner: 'b', epoch: rec.value!.epoch + 1 }), rec.revision);
    // And a renewal of shard 5 that a sent just before the cut lands after it: same owner, same epoch, a new revision.
    const rec5 = a.view.shard(5);
    await kv.update('shards.5', enc(rec5.value), rec5.revision);
    await a.view.refresh();
    a.m.resume();
    // No time passes: a's lease on its entries would hold them from anyone else for 1 s more.
    await waitFor('a holds every shard it dropped but 3', async () => {
      await a.m.reconcile();
      return a.m.owned().length === S - 1;
    }, { timeoutMs: 5_000, describe: () => a.m.owned() });
    expect(a.m.owned()).not.toContain(3);
    // Under new epochs: what a stale activation would write is fenced.
    for (const s of a.m.owned()) expect(a.m.servingEpoch(s, a.clock.mono)).toBeGreaterThan(before.get(s)!);
    // The parked actors of every shard taken back carry on under its new epoch (5 too: only its
    // own renewal landed); those of 3, which another node owned meanwhile, are dropped.
    expect([...a.host.carried.keys()].sort()).toEqual(a.m.owned().sort());
    for (const [s, epoch] of a.host.carried) expect(epoch).toBe(a.m.servingEpoch(s, a.clock.mono));
    expect(a.host.abandonedShards).toEqual([3]);
    expect(a.host.parked.size).toBe(0);
    expect(a.m.stats.carriedOn).toBe(S - 1);
  });

  it('ownership - a node\'s view that sees no entry change, its own included (a watch stalled while its stream elects a leader), judges nobody gone; a member that stands still while its own heartbeats arrive again is, a window of them later', async () => {
    await bucket('stalled_view');
    const clock = new TestClock(1e12, 1000);
    const HB = 100;
    const view = new ClusterView(kv, clock, { refreshMs: 60_000, self: { id: 'a', heartbeatMs: HB } });
    await view.open();
    try {
      const step = async (ms: number, beats: string[], read = true) => {
        clock.mono += ms;
        for (const id of beats) await beat(id, clock);
        if (read) await view.refresh();
      };
      const live = () => view.liveMembers(clock.mono, T.heartbeatWindowMs, 'a').map((m) => m.id);
      await step(0, ['a', 'b']);
      expect(live()).toEqual(['a', 'b']);
      // Nothing is seen for three windows, a's own heartbeats included (its watch stalled, no re-read completes).
      await step(3 * T.heartbeatWindowMs, [], false);
      expect(live()).toEqual(['a', 'b']);
      // a's heartbeats are seen again, b's entry still stands still: b stays until a window of them has passed.
      let beats = 0;
      while (live().includes('b')) {
        await step(HB, ['a']);
        beats++;
        expect(beats, 'heartbeats of a before b is gone').toBeLessThanOrEqual(T.heartbeatWindowMs / HB + 3);
      }
      expect(beats).toBeGreaterThanOrEqual(T.heartbeatWindowMs / HB - 2);
      expect(live()).toEqual(['a']);
      // A client's view (no node of its own) judges by its monotonic clock alone.
      const client = new ClusterView(kv, clock, { refreshMs: 60_000 });
      await client.open();
      await step(0, ['b']);
      await client.refresh();
      clock.mono += T.heartbeatWindowMs + 1;
      expect(client.liveMembers(clock.mono, T.heartbeatWindowMs).map((m) => m.id)).toEqual([]);
      client.close();
    } finally {
      view.close();
    }
  });

  it('ownership - a node with a shorter lease waits out the lease the owner\'s entry declares before taking its shards', async () => {
    await bucket('mixed_leases');
    const LONG = 3_000;
    const c = await node('c', new TestClock(1e12, 1000), { timings: { ...T, leaseMs: LONG } });
    await run(200);
    expect(c.m.owned()).toHaveLength(S);
    const a = await node('a', new TestClock(1e12, 5000));
    await run(T.heartbeatWindowMs);
    // c crashes: a, whose own lease is 1 s, must still wait c's 3 s before serving any of its shards.
    c.running = false;
    await run(LONG + T.safetyMarginMs + 1_000, () => {
      expect(overlap(a, c)).toEqual([]);
    });
    await waitFor('a owns every shard', async () => {
      await run(STEP_MS);
      return a.m.owned().length === S;
    }, { timeoutMs: 20_000, describe: () => a.m.owned() });
  });

  it('ownership - parked shards the placement now puts elsewhere are dropped, not kept forever', async () => {
    await bucket('parked_elsewhere');
    const a = await node('a', new TestClock(1e12, 1000));
    await run(200);
    await a.m.suspend('disconnected from NATS');
    expect(a.host.parked.size).toBe(S);
    // While a is cut off, b joins: the placement gives b about half of the shards.
    const b = await node('b', new TestClock(1e12, a.clock.mono));
    a.m.resume();
    await run(T.leaseMs + T.safetyMarginMs + 2 * T.heartbeatWindowMs, () => {
      expect(overlap(a, b)).toEqual([]);
    });
    await waitFor('a balanced with b', async () => {
      await run(STEP_MS);
      return a.m.owned().length > 0 && b.m.owned().length > 0 && a.m.owned().length + b.m.owned().length === S;
    }, { timeoutMs: 20_000, describe: () => ({ a: a.m.owned(), b: b.m.owned() }) });
    // Every parked shard either carried on at a or was dropped; none is left parked.
    expect(a.host.parked.size).toBe(0);
    for (const s of b.m.owned()) expect(a.host.carried.has(s) && a.m.owned().includes(s)).toBe(false);
  });
});
