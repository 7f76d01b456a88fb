import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ClusterClient } from '../../cluster/index.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './nats-server.js';
import { builtFixture, startNodeProcess, type NodeProcess } from './processes.js';
import { waitFor } from './wait.js';

/** A test cluster: a nats-server, node processes, and a client in the test process. */
export interface TestCluster {
  nats: NatsServerHandle;
  prefix: string;
  shardCount: number;
  nodes: Map<string, NodeProcess>;
  client: ClusterClient;
  nc: NatsConnection;
  /** Starts one more node process (fast timings) and waits until it is ready. */
  addNode(id: string): Promise<NodeProcess>;
  /** Waits until every shard has a live owner among `ids` (default: every running node). */
  waitBalanced(ids?: string[], timeoutMs?: number): Promise<void>;
  /** All events printed by every node so far. */
  events(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** `metrics`: every node serves Prometheus metrics on a free port, named by `metricsPort` in its `ready` event. */
export async function startTestCluster(opts: { nodes: number; shardCount?: number; label: string; metrics?: boolean }): Promise<TestCluster> {
  const nats = await startNatsServer();
  const prefix = uniquePrefix(opts.label);
  const shardCount = opts.shardCount ?? 128;
  const nodes = new Map<string, NodeProcess>();
  const retired: NodeProcess[] = [];
  const addNode = async (id: string) => {
    const p = startNodeProcess(['--nats', nats.url, '--id', id, '--prefix', prefix, '--shard-count', String(shardCount), '--fast', ...(opts.metrics ? ['--metrics-port', '0'] : [])], { script: builtFixture('cluster-node-proc.js') });
    nodes.set(id, p);
    await p.ready;
    return p;
  };
  for (let i = 1; i <= opts.nodes; i++) await addNode(`n${i}`);
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  const client = await ClusterClient.connect(nc, { prefix, shardCount });
  const c: TestCluster = {
    nats,
    prefix,
    shardCount,
    nodes,
    client,
    nc,
    addNode,
    async waitBalanced(ids, timeoutMs = 30_000) {
      const want = new Set(ids ?? [...nodes.entries()].filter(([, p]) => p.child.exitCode === null && p.child.signalCode === null).map(([id]) => id));
      await waitFor(
        `every shard owned by one of ${[...want].join(',')} (each owning some)`,
        async () => {
          await client.view.refresh();
          const owners = client.owners();
          return owners.every((o) => want.has(o)) && [...want].every((id) => owners.includes(id));
        },
        { timeoutMs, intervalMs: 50, describe: () => countBy(client.owners()) },
      );
    },
    events() {
      return [...retired, ...nodes.values()].flatMap((p) => p.events);
    },
    async close() {
      await client.close().catch(() => undefined);
      await nc.close().catch(() => undefined);
      for (const p of nodes.values()) {
        if (p.child.signalCode === 'SIGSTOP' || p.child.exitCode === null) p.child.kill('SIGCONT');
      }
      await Promise.all([...nodes.values()].map((p) => p.stop()));
      await nats.stop();
    },
  };
  return c;
}

export function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** Activation events of one key must not overlap in time (across nodes); returns the overlaps found. */
export function overlappingActivations(events: Array<Record<string, unknown>>): string[] {
  const byKey = new Map<string, Array<{ node: string; start: number; end: number; epoch: number }>>();
  for (const e of events) {
    if (e.event !== 'activation') continue;
    const k = `${String(e.kind)}/${String(e.key)}`;
    const list = byKey.get(k) ?? [];
    list.push({ node: String(e.node), start: Number(e.start), end: Number(e.end), epoch: Number(e.epoch) });
    byKey.set(k, list);
  }
  const bad: string[] = [];
  for (const [k, list] of byKey) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const cur = list[i]!;
      if (cur.start < prev.end) bad.push(`${k}: ${prev.node}@${prev.epoch} [${prev.start},${prev.end}] overlaps ${cur.node}@${cur.epoch} [${cur.start},${cur.end}]`);
    }
  }
  return bad;
}
