import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LEASE_MS, DEFAULT_RENEW_MS, DEFAULT_SAFETY_MARGIN_MS, DEFAULT_RECONCILE_MS } from '../cluster/index.js';
import { shardOf } from '../runtime/index.js';
import { onTestClock, startTestCluster, type TestCluster } from './harness/cluster.js';
import { startNatsServer, type NatsServerHandle } from './harness/nats-server.js';
import type { NodeProcess, ProcessEvent } from './harness/processes.js';
import { startTcpProxy, type TcpProxy } from './harness/tcp-proxy.js';
import { waitFor } from './harness/wait.js';

/**
 * Failover with the default timings (a 3 s lease, a 0.5 s margin, 1 s heartbeats): an owner whose
 * connection to NATS is gone (killed, or cut off by the network) is taken over well inside its
 * lease; one that is only paused still holds its subscriptions and is waited out.
 */
const SHARDS = 64;
/** The earliest a lease-bound takeover can come after the owner's last renewal was seen. */
const LEASE_BOUND_MS = DEFAULT_LEASE_MS + DEFAULT_SAFETY_MARGIN_MS;
/**
 * Early takeover must beat the lease by a wide margin. It takes a probe period, a confirming probe
 * and one claim (well under 1 s idle); the bound leaves room for a loaded 2-core machine. The
 * faults below come right after the owner's renewals were seen, so a lease-bound takeover comes
 * LEASE_BOUND_MS after the fault, 1 s above this bound (a fault up to a renewal period after the
 * last renewal could let one in at 2.4 s: hence that timing, and the per-shard check besides).
 */
const EARLY_BOUND_MS = 2_500;
const CUT_OFF_MSG = 'peer cut off from NATS (no responders twice); taking its shards now';
const DISCONNECT_MSG = 'disconnected from NATS; serving nothing until reconnected';

/** A key of the test actor on each of `shards`. */
function keysOn(shards: readonly number[], label: string): Map<number, string> {
  const want = new Set(shards);
  const out = new Map<number, string>();
  for (let i = 0; out.size < want.size; i++) {
    const key = `${label}${i}`;
    const s = shardOf('test', key, SHARDS);
    if (want.has(s) && !out.has(s)) out.set(s, key);
  }
  return out;
}

function shardsOf(c: TestCluster, node: string): number[] {
  return c.client.owners().flatMap((o, s) => (o === node ? [s] : []));
}

/**
 * Resolves with this process's monotonic time at the first change of the client's view (it follows
 * the bucket's watch) after which `done()` holds; rejects after `timeoutMs`, naming the phase and
 * what `describe()` says then.
 */
function whenView(c: TestCluster, phase: string, done: () => boolean, timeoutMs: number, describe: () => unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    let off: () => void = () => undefined;
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${phase} (state: ${JSON.stringify(describe())})`));
    }, timeoutMs);
    const check = () => {
      if (!done()) return;
      off();
      clearTimeout(timer);
      resolve(performance.now());
    };
    off = c.client.view.onChange(check);
    check();
  });
}

/**
 * Follows `shards` of `owner` in the client's view: when each was last seen renewed by `owner`, and
 * when it was first seen under another owner (this process's monotonic clock). A claimant waits a
 * lease plus the margin from when *it* saw the last renewal, which this view sees within
 * milliseconds of it: the gap between the two tells a lease-bound takeover from an early one,
 * whenever the fault came.
 */
function watchShards(c: TestCluster, shards: readonly number[], owner: string) {
  const renewedAt = new Map<number, number>();
  const takenAt = new Map<number, number>();
  const revisions = new Map<number, number>(shards.map((s) => [s, c.client.view.shard(s).revision]));
  const stop = c.client.view.onChange(() => {
    const now = performance.now();
    for (const s of shards) {
      const rec = c.client.view.shard(s);
      if (rec.revision === revisions.get(s)) continue;
      revisions.set(s, rec.revision);
      if (rec.value?.owner === owner) renewedAt.set(s, now);
      else if (!takenAt.has(s)) takenAt.set(s, now);
    }
  });
  return {
    renewedAt,
    /** Waits until each shard was seen renewed: a fault right after it gives the lease its longest run. */
    allRenewed: () =>
      waitFor(`every shard of ${owner} seen renewed`, () => shards.every((s) => renewedAt.has(s)), { timeoutMs: 10_000, intervalMs: 10, describe: () => ({ notYet: shards.filter((s) => !renewedAt.has(s)) }) }),
    /** Per shard, ms from its last renewal seen to its takeover seen (both must have been seen). */
    gaps: () => shards.map((s) => takenAt.get(s)! - renewedAt.get(s)!),
    stop,
  };
}

/** Resolves once every shard of `shards` is owned (as the client sees it) by one of `survivors`, with the time. */
function ownedBy(c: TestCluster, shards: readonly number[], survivors: readonly string[], phase: string, timeoutMs = 15_000): Promise<number> {
  const ok = new Set(survivors);
  const notYet = () => shards.filter((s) => !ok.has(c.client.view.shard(s).value?.owner ?? ''));
  return whenView(c, phase, () => notYet().length === 0, timeoutMs, () => ({ notYet: notYet().map((s) => `${s}:${c.client.view.shard(s).value?.owner || '-'}`) }));
}

type Answer = { node: string; epoch: number };

/**
 * Asks each key once (`filled`, a read) and resolves when every one is answered, with the time and
 * the answers; an answer `ok` refuses (by default: from a node not in `survivors`) fails the test.
 */
async function servedBy(c: TestCluster, keys: Map<number, string>, survivors: readonly string[], ok: (shard: number, a: Answer) => boolean = (_, a) => survivors.includes(a.node)): Promise<{ at: number; answers: Map<number, Answer> }> {
  const answers = new Map<number, Answer>();
  await Promise.all(
    [...keys].map(async ([s, key]) => {
      const r = await c.client.system.request<number>('test', key, 'filled', undefined, { deadlineMs: 10_000 });
      answers.set(s, { node: r.node, epoch: r.epoch });
    }),
  );
  const at = performance.now();
  const strays = [...answers].filter(([s, a]) => !ok(s, a)).map(([s, a]) => `shard ${s} answered by ${a.node}@${a.epoch}`);
  expect(strays, `asks answered by a node that should serve nothing (survivors: ${survivors.join(', ')})`).toEqual([]);
  return { at, answers };
}

const logged = (msg: string, peer?: string) => (e: ProcessEvent) => e.msg === msg && (peer === undefined || e.peer === peer);

/** Every survivor logs that it cut `peer` off (its log reaches this process a moment after it acted). */
async function expectCutOffLogged(c: TestCluster, survivors: readonly string[], peer: string): Promise<void> {
  for (const id of survivors) await c.nodes.get(id)!.waitEvent(logged(CUT_OFF_MSG, peer), 5_000);
}

function cutOffLogs(procs: NodeProcess[], peer: string): ProcessEvent[] {
  return procs.flatMap((p) => p.events.filter(logged(CUT_OFF_MSG, peer)));
}

/**
 * Brings `victim`'s shards down by `fault` (once every one of them was seen renewed) and times how
 * long the survivors take to own them and to answer an ask to an actor of each; asserts both happen
 * well inside the lease, and that every survivor logged the victim cut off.
 */
async function takeOver(c: TestCluster, victim: string, survivors: readonly string[], fault: () => unknown): Promise<{ shards: number[]; t0: number; ownedMs: number; servedMs: number; gap: number }> {
  const shards = shardsOf(c, victim);
  expect(shards.length).toBeGreaterThan(SHARDS / 6);
  const keys = keysOn(shards, 'probe');
  const watch = watchShards(c, shards, victim);
  await watch.allRenewed();
  const owned = ownedBy(c, shards, survivors, `every shard of ${victim} owned by a survivor`);
  const t0 = performance.now();
  await fault();
  const ownedAt = await owned;
  watch.stop();
  const served = await servedBy(c, keys, survivors);
  const r = { shards, t0, ownedMs: ownedAt - t0, servedMs: served.at - t0, gap: Math.max(...watch.gaps()) };
  expect(r.servedMs, 'fault → every shard served by a survivor, ms').toBeLessThan(EARLY_BOUND_MS);
  expect(r.gap, 'last renewal seen → takeover seen, ms (per shard, the most): a lease-bound takeover waits at least the lease').toBeLessThan(DEFAULT_LEASE_MS);
  await expectCutOffLogged(c, survivors, victim);
  return r;
}

/** SIGKILLs n2 of n1..n3 and asserts that its shards are served by the others well inside its lease. */
async function killAndMeasure(c: TestCluster, annotate: (message: string, type?: string) => Promise<unknown>): Promise<void> {
  const victim = 'n2';
  const survivors = ['n1', 'n3'];
  const { shards, ownedMs, servedMs, gap } = await takeOver(c, victim, survivors, () => c.nodes.get(victim)!.kill('SIGKILL'));
  console.log(`failover: SIGKILL ${victim} → its ${shards.length} shards owned by survivors in ${ownedMs.toFixed(0)} ms, each served by them in ${servedMs.toFixed(0)} ms; last renewal → takeover ≤ ${gap.toFixed(0)} ms (lease ${DEFAULT_LEASE_MS} + margin ${DEFAULT_SAFETY_MARGIN_MS} ms)`);
  await annotate(`kill → owned ${ownedMs.toFixed(0)} ms, kill → served ${servedMs.toFixed(0)} ms`, 'timing');
}

/**
 * What a resumed node did with the activations of `keys` (key → shard): those under an epoch not
 * above the takeover's (`takeover`, per shard) that are still open, that ended, that acted after
 * the process was resumed, and any started after the resume under such an epoch. Times are put on
 * this process's clock (`onTestClock`, late by the pipe's latency at most, never early).
 */
function oldActivations(p: NodeProcess, keys: Map<string, number>, takeover: Map<number, number>, resumedAt: number) {
  const old = (e: ProcessEvent) => e.kind === 'test' && keys.has(String(e.key)) && Number(e.epoch) <= takeover.get(keys.get(String(e.key))!)!;
  const started = new Map<string, ProcessEvent>();
  const ended = new Map<string, ProcessEvent>();
  for (const e of p.events) {
    if (e.event === 'activation-start' && old(e)) started.set(String(e.act), e);
    if (e.event === 'activation-end' && old(e)) ended.set(String(e.act), e);
  }
  const open = [...started.keys()].filter((a) => !ended.has(a)).length;
  const actedAfterResume = [...ended.values()]
    .filter((e) => onTestClock(p, Number(e.lastActiveMono)) >= resumedAt)
    .map((e) => `${String(e.key)}@${Number(e.epoch)}: last acted ${(onTestClock(p, Number(e.lastActiveMono)) - resumedAt).toFixed(0)} ms after the resume (${String(e.reason)})`);
  const newAtOldEpoch = [...started.values()].filter((e) => onTestClock(p, Number(e.mono)) >= resumedAt).map((e) => `${String(e.key)}@${Number(e.epoch)}`);
  return { open, ended: ended.size, actedAfterResume, newAtOldEpoch };
}

describe('cluster failover with the default lease', () => {
  let nats: NatsServerHandle;
  let c: TestCluster | undefined;
  let proxy: TcpProxy | undefined;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    try {
      if (c) expect(await c.activationProblems()).toEqual([]);
    } finally {
      await c?.close();
      await proxy?.close();
      c = undefined;
      proxy = undefined;
    }
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it("failover - a SIGKILLed owner's shards are served again well inside its lease, and no acknowledged write is lost", async ({ annotate }) => {
    c = await startTestCluster({ nodes: 3, shardCount: SHARDS, label: 'fo_kill', nats, defaultTimings: true });
    await c.waitBalanced();
    const sys = c.client.system;
    // State that is persisted before it is acknowledged: a payload of a size of its own per actor.
    const actors = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, bytes: 64 + i }));
    await Promise.all(actors.map((a) => sys.ask('test', a.key, 'fill', { bytes: a.bytes })));
    // Writes keep coming across the kill: those acknowledged must all be there afterwards.
    const acked = new Map<string, string[]>();
    let stopLoad = false;
    let seq = 0;
    const loadFailures: string[] = [];
    const loop = async (w: number) => {
      while (!stopLoad) {
        const key = `w${(seq++ * 7 + w) % 40}`;
        const id = `op-${w}-${seq}`;
        try {
          await sys.ask('test', key, 'applyDurable', undefined, { id, deadlineMs: 10_000 });
          acked.set(key, [...(acked.get(key) ?? []), id]);
        } catch (e) {
          // A failure ends this writer (the test fails below): no spinning on a closed client.
          loadFailures.push(`${key} ${id}: ${(e as Error).message}`);
          return;
        }
      }
    };
    const load = Array.from({ length: 4 }, (_, w) => loop(w));
    const cl = c;
    try {
      await waitFor('some writes acknowledged before the kill', () => acked.size >= 20, { timeoutMs: 10_000 });
      await killAndMeasure(cl, annotate);
    } finally {
      stopLoad = true;
      await Promise.all(load);
    }
    expect(loadFailures, 'asks that failed across the kill').toEqual([]);
    // Nothing acknowledged before the kill (or after it) was lost.
    const filled = await Promise.all(actors.map((a) => sys.ask<number>('test', a.key, 'filled', undefined, { deadlineMs: 10_000 })));
    expect(actors.flatMap((a, i) => (filled[i] === a.bytes ? [] : [`${a.key}: ${filled[i]} bytes, want ${a.bytes}`])), 'acknowledged fills lost').toEqual([]);
    const lost: string[] = [];
    for (const [key, ids] of acked) {
      const applied = new Set(await sys.ask<string[]>('test', key, 'applied', undefined, { deadlineMs: 10_000 }));
      for (const id of ids) if (!applied.has(id)) lost.push(`${key} ${id}`);
    }
    expect(lost, 'acknowledged writes lost').toEqual([]);
  });

  it('failover - a SIGSTOPped owner is not taken over early, and serves nothing once resumed after its lease', async ({ annotate }) => {
    c = await startTestCluster({ nodes: 3, shardCount: SHARDS, label: 'fo_stop', nats, defaultTimings: true });
    await c.waitBalanced();
    const victim = 'n2';
    const survivors = ['n1', 'n3'];
    const procs = c.processes();
    const shards = shardsOf(c, victim);
    const keys = keysOn(shards, 'probe');
    await Promise.all([...keys.values()].map((k) => c!.client.system.ask('test', k, 'fill', { bytes: 8 })));

    const watch = watchShards(c, shards, victim);
    const cl = c;
    // Stopped right after its renewals were seen: the lease then runs its full length from the stop.
    await watch.allRenewed();
    const anyTaken = whenView(c, `a shard of ${victim} owned by someone else`, () => shards.some((s) => cl.client.view.shard(s).value?.owner !== victim), 20_000, () => ({}));
    const allTaken = ownedBy(c, shards, survivors, `every shard of the paused ${victim} owned by a survivor`, 20_000);
    allTaken.catch(() => undefined); // awaited below, unless the first check fails
    const t0 = performance.now();
    c.nodes.get(victim)!.kill('SIGSTOP');
    const oldestRenewal = Math.min(...watch.renewedAt.values());
    // Asks while it is paused: each attempt before the takeover names its epoch and waits in its
    // socket; the attempt after the takeover is answered by the new owner.
    const duringPause = servedBy(c, keys, survivors);
    duringPause.catch(() => undefined);
    const firstAt = await anyTaken;
    await allTaken;
    watch.stop();
    const firstMs = firstAt - t0;
    const minAfterRenewal = Math.min(...watch.gaps());
    console.log(`failover: SIGSTOP ${victim} → first takeover of its shards after ${firstMs.toFixed(0)} ms; every takeover ≥ ${minAfterRenewal.toFixed(0)} ms after that shard's last renewal was seen (lease ${DEFAULT_LEASE_MS} + margin ${DEFAULT_SAFETY_MARGIN_MS} ms; the oldest of their last renewals seen ${(t0 - oldestRenewal).toFixed(0)} ms before the stop)`);
    await annotate(`SIGSTOP → first takeover ${firstMs.toFixed(0)} ms; last renewal → takeover ≥ ${minAfterRenewal.toFixed(0)} ms`, 'timing');
    // A paused owner's subscriptions stay: probes time out, and only its lease may free its shards.
    // The claimant waits a lease plus the margin from when it saw the last renewal; this view sees
    // that renewal within milliseconds of it, so every takeover comes at least a lease after it.
    expect(minAfterRenewal, 'last renewal seen → takeover, ms (per shard, the least)').toBeGreaterThanOrEqual(DEFAULT_LEASE_MS);
    // And from the stop: its last renewal landed at most a renewal period plus a tick before it.
    expect(firstMs, 'SIGSTOP → first takeover, ms').toBeGreaterThanOrEqual(LEASE_BOUND_MS - DEFAULT_RENEW_MS - DEFAULT_RECONCILE_MS - 200);
    expect(cutOffLogs(procs, victim), 'a paused owner must not be cut off').toEqual([]);

    // While it is paused, its shards are served by the new owners, under the takeover's epochs.
    const takeover = new Map(shards.map((s) => [s, cl.client.view.shard(s).value!.epoch]));
    for (const [s, a] of (await duringPause).answers) expect(a.epoch, `shard ${s} answered under the takeover's epoch`).toBeGreaterThanOrEqual(takeover.get(s)!);

    // Resumed with those asks (under its old epochs) waiting in its socket: it must act on none of
    // them, and it says that it lost its shards.
    const stopped = c.nodes.get(victim)!;
    const tc = performance.now();
    stopped.kill('SIGCONT');
    // It rejoins at once (its heartbeat is overdue) and may be handed shards back: under new epochs only.
    const afterResume = await servedBy(c, keys, survivors, (s, a) => survivors.includes(a.node) || (a.node === victim && a.epoch > takeover.get(s)!));
    for (const [s, a] of afterResume.answers) expect(a.epoch, `shard ${s} answered under the takeover's epoch or later`).toBeGreaterThanOrEqual(takeover.get(s)!);
    const lostShards = () => {
      const lines = stopped.events.filter((e) => e.recvMono >= tc && (e.msg === 'lease ran out; shards lost' || e.msg === 'ownership taken over; shard lost'));
      return new Set(lines.flatMap((e) => (Array.isArray(e.shards) ? (e.shards as number[]) : [Number(e.shard)])));
    };
    await waitFor(`${victim} logs every shard it held as lost`, () => shards.every((s) => lostShards().has(s)), { timeoutMs: 10_000, describe: () => ({ lost: [...lostShards()], held: shards }) });
    // Its activations of those keys: the old ones acted last before the stop; any new one runs under a new epoch.
    const keyShard = new Map([...keys].map(([s, k]) => [k, s]));
    await waitFor(`${victim} ended every activation it had before the stop`, () => oldActivations(stopped, keyShard, takeover, tc).open === 0, { timeoutMs: 10_000, describe: () => oldActivations(stopped, keyShard, takeover, tc) });
    const acts = oldActivations(stopped, keyShard, takeover, tc);
    expect(acts.ended, 'activations of the probe keys it held at the stop').toBeGreaterThan(0);
    expect(acts.actedAfterResume, 'old-epoch activations that acted after the resume').toEqual([]);
    expect(acts.newAtOldEpoch, 'activations started after the resume under an epoch not above the takeover').toEqual([]);
    expect(cutOffLogs(procs, victim), 'a resumed owner must not be cut off').toEqual([]);
  });

  it('failover - a node cut off from NATS (its TCP proxy closed) is taken over early, stops serving at once, and comes back under new epochs', async ({ annotate }) => {
    proxy = await startTcpProxy(nats.port);
    c = await startTestCluster({ nodes: 2, shardCount: SHARDS, label: 'fo_cut', nats, defaultTimings: true });
    const victim = 'n3';
    const survivors = ['n1', 'n2'];
    const cutNode = await c.addNode(victim, { natsUrl: `nats://127.0.0.1:${proxy.port}` });
    await c.waitBalanced();
    const before = new Map(shardsOf(c, victim).map((s) => [s, c!.client.view.shard(s).value!.epoch]));
    const { shards, t0, ownedMs, servedMs, gap } = await takeOver(c, victim, survivors, () => proxy!.close());
    const disconnect = await cutNode.waitEvent(logged(DISCONNECT_MSG), 5_000);
    const disconnectMs = disconnect.recvMono - t0;
    console.log(`failover: proxy of ${victim} closed → its ${shards.length} shards owned by survivors in ${ownedMs.toFixed(0)} ms, served by them in ${servedMs.toFixed(0)} ms; last renewal → takeover ≤ ${gap.toFixed(0)} ms; ${victim} logged its disconnect after ${disconnectMs.toFixed(0)} ms`);
    await annotate(`proxy close → owned ${ownedMs.toFixed(0)} ms, → served ${servedMs.toFixed(0)} ms; disconnect seen by ${victim} after ${disconnectMs.toFixed(0)} ms`, 'timing');
    // It dropped every shard the moment its connection went, long before any lease ran out.
    expect(disconnectMs, 'proxy closed → the cut-off node drops its shards, ms').toBeLessThan(1_000);
    await cutNode.waitEvent((e) => e.msg === 'cut off from NATS; serving no shard (actors kept, unwritten, for shards that come back unchanged)' && e.shards === shards.length, 5_000);

    // Let back in: it reconnects, the others see it again, and it gets shards under new epochs.
    const atReopen = new Map(Array.from({ length: SHARDS }, (_, s) => [s, c!.client.view.shard(s).value?.epoch ?? 0]));
    await proxy.reopen();
    await cutNode.waitEvent(logged('reconnected to NATS; claiming shards again'), 15_000);
    await c.waitBalanced(['n1', 'n2', victim], 30_000);
    const again = shardsOf(c, victim);
    expect(again.length).toBeGreaterThan(SHARDS / 6);
    const stale = again.filter((s) => c!.client.view.shard(s).value!.epoch <= Math.max(atReopen.get(s)!, before.get(s) ?? 0));
    expect(stale, 'shards it owns again under an epoch from before it came back').toEqual([]);
  });
});
