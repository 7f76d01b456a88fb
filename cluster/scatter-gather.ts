import type { ActorSystem, Gathered, NodeAnswer, ScatterGather, ShardId } from '../runtime/index.js';
import type { ClusterView } from './cluster-view.js';

/** Deadline of a scatter-gather without one. */
export const DEFAULT_GATHER_DEADLINE_MS = 1_000;

/**
 * Scatter-gather over the cluster: one ask to each node that owns shards (as this view
 * sees them), each answering for every shard it serves; gathered until the deadline. The
 * result names the shards no answer covered, so a caller can serve a partial answer.
 */
export class ClusterScatterGather implements ScatterGather {
  constructor(
    private readonly system: ActorSystem,
    private readonly view: ClusterView,
  ) {}

  async gather<R>(type: string, body?: unknown, opts: { deadlineMs?: number } = {}): Promise<Gathered<R>> {
    const shardCount = this.system.options.shardCount;
    const nodes = new Set<string>();
    for (let s = 0; s < shardCount; s++) {
      const owner = this.view.shard(s).value?.owner;
      if (owner) nodes.add(owner);
    }
    const deadlineMs = opts.deadlineMs ?? DEFAULT_GATHER_DEADLINE_MS;
    const settled = await Promise.allSettled([...nodes].map((n) => this.system.askNode<R>(n, type, body, { deadlineMs })));
    const answers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value as NodeAnswer<R>] : []));
    // A shard counts once, even if a move made two nodes answer for it.
    const covered = new Set<ShardId>();
    for (const a of answers) for (const s of a.shards) covered.add(s);
    const missingShards: ShardId[] = [];
    for (let s = 0; s < shardCount; s++) if (!covered.has(s)) missingShards.push(s);
    return { answers, missingShards };
  }
}
