import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ClusterClient, type NodeStatus } from '../../cluster/index.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './nats-server.js';
import { builtFixture, startNodeProcess, type NodeProcess, type ProcessEvent } from './processes.js';
import { waitFor } from './wait.js';

/** Short timings for tests: a 1 s lease, a 1.5 s heartbeat window. */
export const FAST_NODE_FLAGS = [
  '--lease-ms', '1000', '--renew-ms', '250', '--safety-margin-ms', '250', '--heartbeat-ms', '250', '--heartbeat-window-ms', '1500', '--reconcile-ms', '100',
];

/** A test cluster: a nats-server, `reel node` processes hosting the test actor, and a client in the test process. */
export interface TestCluster {
  nats: NatsServerHandle;
  prefix: string;
  shardCount: number;
  /** Running (or last started) process of each node id. */
  nodes: Map<string, NodeProcess>;
  client: ClusterClient;
  nc: NatsConnection;
  /**
   * Starts one more node process (fast timings unless `defaultTimings`) and waits until it is
   * ready; `natsUrl` connects it elsewhere than the cluster's nats-server (through a proxy).
   */
  addNode(id: string, opts?: { env?: Record<string, string>; defaultTimings?: boolean; natsUrl?: string }): Promise<NodeProcess>;
  /**
   * Waits until ownership is what placement gives `ids` (default: every running node): each shard's
   * entry names its assigned node, and every one of those nodes says it holds exactly its shards
   * and hands none off.
   */
  waitBalanced(ids?: string[], timeoutMs?: number): Promise<void>;
  /** Every process started so far, replaced ones included. */
  processes(): NodeProcess[];
  /** What is wrong with the activations seen so far: none seen at all, or two of a key active at once. */
  activationProblems(): Promise<string[]>;
  close(): Promise<void>;
}

/** Fast timings and the test actor, through the real `reel node` command. */
function nodeArgs(url: string, id: string, prefix: string, shardCount: number, metrics: boolean, fast: boolean, reelActors: boolean): string[] {
  return [
    'node', '--nats', url, '--id', id, '--prefix', prefix, '--shard-count', String(shardCount), ...(reelActors ? [] : ['--kinds', builtFixture('test-kinds.js')]), '--events',
    ...(fast ? FAST_NODE_FLAGS : []), ...(metrics ? ['--metrics-port', '0'] : []),
  ];
}

/**
 * `metrics`: every node serves Prometheus metrics on a free port, named by `metricsPort` in its `ready` event.
 * `reelActors`: the nodes host reel's user and title actors and training, instead of the test actor.
 */
export async function startTestCluster(opts: { nodes: number; shardCount?: number; label: string; metrics?: boolean; nats?: NatsServerHandle; natsUrls?: string; reelActors?: boolean; env?: Record<string, string>; defaultTimings?: boolean; nodeFlags?: string[] }): Promise<TestCluster> {
  const nats = opts.nats ?? (opts.natsUrls !== undefined ? serversOfTheTest(opts.natsUrls) : await startNatsServer());
  const prefix = uniquePrefix(opts.label);
  const shardCount = opts.shardCount ?? 128;
  const nodes = new Map<string, NodeProcess>();
  const all: NodeProcess[] = [];
  const addNode = async (id: string, o: { env?: Record<string, string>; defaultTimings?: boolean; natsUrl?: string } = {}) => {
    const env = { ...opts.env, ...o.env };
    const args = [...nodeArgs(o.natsUrl ?? nats.url, id, prefix, shardCount, Boolean(opts.metrics), !(o.defaultTimings ?? opts.defaultTimings), Boolean(opts.reelActors)), ...(opts.nodeFlags ?? [])];
    const p = startNodeProcess(args, Object.keys(env).length > 0 ? { env } : {});
    nodes.set(id, p);
    all.push(p);
    await p.ready;
    return p;
  };
  for (let i = 1; i <= opts.nodes; i++) await addNode(`n${i}`);
  // The test's own connection rides out a nats-server restart, as the nodes' do.
  const nc = await connect({ servers: nats.url.split(','), noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const client = await ClusterClient.connect(nc, { prefix, shardCount });
  const running = () => [...nodes.entries()].filter(([, p]) => p.exitedAt() === undefined).map(([id]) => id);
  return {
    nats,
    prefix,
    shardCount,
    nodes,
    client,
    nc,
    addNode,
    processes: () => [...all],
    // Events come through the nodes' stdout pipes: the first may still be on its way when a test ends.
    activationProblems: async () => {
      const seen = await waitFor('an activation event', () => activationStarts(all) > 0, { timeoutMs: 5_000, intervalMs: 20 }).then(() => true, () => false);
      return seen ? overlappingActivations(all) : ['no activation event was seen'];
    },
    async waitBalanced(ids, timeoutMs = 30_000) {
      const want = ids ?? running();
      let state: unknown = null;
      await waitFor(
        `shards placed on ${want.join(',')} as placement says, no handoff in flight`,
        async () => {
          // While the broker restarts, a read fails: that is "not yet", not a failure.
          const read = await client.view.refresh().then(() => true, (err: unknown) => ((state = { readFailed: (err as Error).message }), false));
          if (!read) return false;
          const desired = client.view.targetOwners(shardCount, want.map((id) => ({ id, weight: 1 })));
          // Whatever placement the nodes stored, without manual pins it is balanced: each its share, rounded.
          const counts = countBy([...desired.values()]);
          if (client.view.overrides.size === 0 && want.some((id) => Math.abs((counts[id] ?? 0) - shardCount / want.length) >= 1)) {
            state = { uneven: counts };
            return false;
          }
          const owners = client.owners();
          const wrong = owners.flatMap((o, s) => (o === desired.get(s) ? [] : [`${s}:${o || '-'}→${desired.get(s)}`]));
          if (wrong.length > 0) {
            state = { wrong: wrong.slice(0, 8), count: wrong.length };
            return false;
          }
          const g = await client.scatter.gather<NodeStatus>('status', undefined, { deadlineMs: 1_000 }).catch(() => ({ answers: [] as Array<{ node: string; value: NodeStatus }> }));
          const byNode = new Map(g.answers.map((a) => [a.node, a.value]));
          for (const id of want) {
            const st = byNode.get(id);
            const mine = owners.flatMap((o, s) => (o === id ? [s] : []));
            const held = (st?.owned ?? []).map(([s]) => s).sort((a, b) => a - b);
            if (st === undefined || st.handingOff.length > 0 || held.join() !== mine.join()) {
              const heldSet = new Set(held);
              const mineSet = new Set(mine);
              state = {
                node: id, answered: st !== undefined, handingOff: st?.handingOff, holds: held.length, entries: mine.length,
                heldNotNamed: held.filter((s) => !mineSet.has(s)).slice(0, 8), namedNotHeld: mine.filter((s) => !heldSet.has(s)).slice(0, 8),
              };
              return false;
            }
          }
          return true;
        },
        { timeoutMs, intervalMs: 50, describe: () => state },
      );
    },
    async close() {
      await client.close().catch(() => undefined);
      await nc.close().catch(() => undefined);
      for (const p of all) p.kill('SIGCONT');
      // No handoffs at the end: the test is over, and a kill is quicker than a drain of every node.
      for (const p of all) p.kill('SIGKILL');
      await Promise.all(all.map((p) => p.exited));
      if (opts.nats === undefined && opts.natsUrls === undefined) await nats.stop();
    },
  };
}

/**
 * `natsUrls`: servers the test started and controls itself (a NATS cluster); the cluster's `nats`
 * then only names them, and refuses to act on them.
 */
function serversOfTheTest(urls: string): NatsServerHandle {
  const refuse = (): never => {
    throw new Error(`this test cluster runs on servers the test started (${urls}): act on them through the test's own handle`);
  };
  return { url: urls, port: 0, storeDir: '', pid: 0, kill: async () => refuse(), restart: async () => refuse(), stop: async () => undefined, [Symbol.asyncDispose]: async () => undefined };
}

export function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** One activation as the overlap check sees it, on the test's clock. */
interface Interval {
  act: string;
  node: string;
  epoch: number;
  start: number;
  end: number;
}

/**
 * Activations of one key must never be active at the same time, across nodes and epochs.
 * Events are streamed as they happen (`reel node --events`); each carries the node's monotonic
 * time, which is put on the test's clock through that process's offset (the smallest arrival
 * time minus node time over its events: a lower bound off by the pipe's latency only). An
 * activation is active from its start until its last act (beginning a message, sending a reply,
 * tell or ask, issuing a write: an abandoned one stops acting before it ends, and a write it
 * issued that lands late is fenced by the store); one with no end event lasts until its process
 * died, or until now. Returns the overlaps.
 */
export function overlappingActivations(procs: NodeProcess[], now = performance.now()): string[] {
  const byKey = new Map<string, Interval[]>();
  for (const p of procs) {
    const evs = p.events.filter((e): e is ProcessEvent & { mono: number } => typeof e.mono === 'number');
    if (evs.length === 0) continue;
    const offset = Math.min(...evs.map((e) => e.recvMono - e.mono));
    const open = new Map<string, Interval & { key: string }>();
    for (const e of evs) {
      if (e.event === 'activation-start') {
        open.set(String(e.act), { key: `${String(e.kind)}/${String(e.key)}`, act: String(e.act), node: String(e.node), epoch: Number(e.epoch), start: e.mono + offset, end: Infinity });
      } else if (e.event === 'activation-end') {
        const iv = open.get(String(e.act));
        if (iv === undefined) continue; // started before the events were streamed
        iv.end = Number(e.lastActiveMono) + offset;
        open.delete(iv.act);
        push(byKey, iv);
      }
    }
    const died = p.exitedAt() ?? now;
    for (const iv of open.values()) push(byKey, { ...iv, end: died });
  }
  const bad: string[] = [];
  for (const [k, list] of byKey) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = list[j]!;
        const b = list[i]!;
        if (b.start < a.end) bad.push(`${k}: ${a.node}@${a.epoch} [${a.start.toFixed(1)}, ${a.end.toFixed(1)}] overlaps ${b.node}@${b.epoch} [${b.start.toFixed(1)}, ${b.end.toFixed(1)}]`);
      }
    }
  }
  return bad;
}

function push(byKey: Map<string, Interval[]>, iv: Interval & { key: string }): void {
  const list = byKey.get(iv.key) ?? [];
  list.push(iv);
  byKey.set(iv.key, list);
}

/** A node's monotonic time on the test's clock (see `overlappingActivations`). */
export function onTestClock(p: NodeProcess, mono: number): number {
  const evs = p.events.filter((e) => typeof e.mono === 'number');
  return mono + Math.min(...evs.map((e) => e.recvMono - (e.mono as number)));
}

/** Activation starts seen so far (a check that the overlap test had something to look at). */
export function activationStarts(procs: NodeProcess[]): number {
  return procs.reduce((n, p) => n + p.events.filter((e) => e.event === 'activation-start').length, 0);
}
