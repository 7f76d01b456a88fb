import { InvalidArgument, shardOf, Unavailable, type ActorSystem, type ShardDirectory } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import { CoordinatorActor } from './coordinator.js';
import { readCheckpoint } from './checkpoints.js';
import { GraphReducer } from './graph-reducer.js';
import { NodeMsg, type ClockStats, type GraphReduceAnswer, type GraphReduceBody, type PullBody, type PushBody } from './messages.js';
import type { NodeParams } from './node-params.js';
import { ParameterServerActor } from './parameter-server.js';
import type { BlobStore, ModelRegistry } from './stores.js';
import { DEFAULT_ADAGRAD_STEP, type TrainSpec } from './spec.js';
import { Worker, type WorkerHost } from './worker.js';

/** What a node needs to take part in training. */
export interface TrainingDeps {
  params: NodeParams;
  registry: ModelRegistry;
  blobs: BlobStore;
  /** Who owns each shard (the cluster's view; in one process, this node). */
  directory: ShardDirectory;
  /** Serving on this node: a version's title rows are read for it before the version is switched to, and it stops with training. */
  serving?: { loadMatrix(version: string): Promise<unknown>; stop(): void };
  onClock?: (version: string, clock: number, stats: ClockStats) => void;
  onEpoch?: (version: string, epoch: number) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * AdaGrad on a title shard: each coordinate moves by `step · delta / √(Σ delta²)`, the sum over
 * every delta applied to it (this one included), so a coordinate that many pushes moved moves
 * less each time. The sums live with the node's readiness for an attempt, and start again
 * with the next one (an attempt restarts from a checkpoint, which holds no sums).
 */
class AdaGrad {
  private readonly sums = new Map<string, Float32Array>();

  constructor(private readonly step: number) {}

  apply(key: string, row: Float32Array, deltas: Float32Array): void {
    let g = this.sums.get(key);
    if (g === undefined) this.sums.set(key, (g = new Float32Array(row.length)));
    for (let f = 0; f < row.length; f++) {
      const d = deltas[f]!;
      if (d === 0) continue;
      const sum = g[f]! + d * d;
      g[f] = sum;
      row[f] += (this.step * d) / Math.sqrt(sum);
    }
  }
}

/** Pieces of pushes applied per version, remembered to drop a resent one (per attempt, worker, clock and piece). */
const MAX_REMEMBERED_PUSHES = 65_536;

/**
 * A node's part in training: the coordinator and parameter-server actor kinds, its worker
 * for each running job, and the node handlers through which other workers pull and push
 * the title rows of the shards this node serves (one message per node, applied to the
 * shard arenas directly).
 */
export class NodeTraining implements WorkerHost {
  readonly params: NodeParams;
  readonly blobs: BlobStore;
  readonly directory: ShardDirectory;
  private readonly workers = new Map<string, Worker>();
  private readonly ready = new Map<string, { attempt: number; shards: Set<number>; adagrad: AdaGrad | undefined }>();
  private readonly pushes = new Map<string, Set<string>>();
  /** LightGCN's sums over the titles this node owns. */
  private readonly reducer = new GraphReducer((version, attempt, key) => {
    const a = this.arenaFor(version, attempt, key);
    return a.view(a.row(key));
  });

  constructor(
    readonly system: ActorSystem,
    private readonly deps: TrainingDeps,
  ) {
    this.params = deps.params;
    this.blobs = deps.blobs;
    this.directory = deps.directory;
    const S = system.options.shardCount;
    system
      .register(Kind.TrainJob, (a) => new CoordinatorActor(a, { registry: deps.registry, blobs: deps.blobs, shardCount: S }))
      .register(Kind.TrainPs, (a) => new ParameterServerActor(a))
      .registerNodeHandler(NodeMsg.StartWorker, (_shards, body) => this.startWorker(String((body as { version?: unknown })?.version ?? '')))
      .registerNodeHandler(NodeMsg.Pull, (_shards, body) => this.pull(body as PullBody))
      .registerNodeHandler(NodeMsg.Push, (_shards, body) => this.push(body as PushBody))
      .registerNodeHandler(NodeMsg.GraphReduce, (_shards, body) => this.reducer.reduce(body as GraphReduceBody))
      .registerNodeHandler(NodeMsg.Titles, (_shards, body) => this.titles(body as { version: string; attempt: number }))
      .registerNodeHandler(NodeMsg.Activate, (_shards, body) => this.activate(String((body as { version?: unknown })?.version ?? '')));
  }

  setReady(version: string, attempt: number, shards: readonly number[], update: Pick<TrainSpec, 'titleUpdate' | 'adagradStep'> = {}): void {
    const adagrad = update.titleUpdate === 'adagrad' ? new AdaGrad(update.adagradStep ?? DEFAULT_ADAGRAD_STEP) : undefined;
    this.ready.set(version, { attempt, shards: new Set(shards), adagrad });
    this.pushes.set(version, new Set());
    this.reducer.reset(version, attempt);
  }

  reduceHere(body: GraphReduceBody): Promise<GraphReduceAnswer> {
    return this.reducer.reduce(body);
  }

  onClock(version: string, clock: number, stats: ClockStats): void {
    this.deps.onClock?.(version, clock, stats);
  }

  onEpoch(version: string, epoch: number): void {
    this.deps.onEpoch?.(version, epoch);
  }

  log(msg: string, fields?: Record<string, unknown>): void {
    this.deps.log?.(msg, fields);
  }

  /** Starts this node's worker for `version` unless one runs. */
  startWorker(version: string): boolean {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(version)) throw new InvalidArgument(`'${version}' is not a model version id`, { fields: ['version'] });
    if (this.workers.has(version)) return false;
    const w = new Worker(this, version);
    this.workers.set(version, w);
    void w.run().finally(() => {
      if (this.workers.get(version) === w) this.workers.delete(version);
    });
    return true;
  }

  /** Workers running on this node, by version. */
  runningJobs(): string[] {
    return [...this.workers.keys()];
  }

  /** Stops every worker (node shutdown): they end after their current step. */
  stopAll(): void {
    if (this.follow) clearInterval(this.follow);
    this.deps.serving?.stop();
    for (const w of this.workers.values()) w.stop();
  }

  private arenaFor(version: string, attempt: number, key: string) {
    const r = this.ready.get(version);
    const shard = shardOf(Kind.Title, key, this.system.options.shardCount);
    if (r === undefined || r.attempt !== attempt || !r.shards.has(shard)) {
      throw new Unavailable(`node ${this.system.nodeId} is not ready for ${version} attempt ${attempt} on shard ${shard}`, { shard, node: this.system.nodeId });
    }
    const v = this.params.existingVersion(version);
    if (v === undefined) throw new Unavailable(`node ${this.system.nodeId} has no parameters of ${version}`, { node: this.system.nodeId });
    return v.arena(Kind.Title, shard);
  }

  private pull(b: PullBody): { rows: Float32Array } {
    const v = this.params.existingVersion(b.version);
    const stride = (v?.shape.factors ?? 0) + 1;
    const rows = new Float32Array(b.keys.length * stride);
    for (let j = 0; j < b.keys.length; j++) {
      const a = this.arenaFor(b.version, b.attempt, b.keys[j]!);
      rows.set(a.view(a.row(b.keys[j]!)), j * stride);
    }
    return { rows };
  }

  /** The title keys of `version` in the shards this node is ready with for `attempt`. */
  private titles(b: { version: string; attempt: number }): string[] {
    const r = this.ready.get(b.version);
    if (r === undefined || r.attempt !== b.attempt) throw new Unavailable(`node ${this.system.nodeId} is not ready for ${b.version} attempt ${b.attempt}`, { node: this.system.nodeId });
    const v = this.params.existingVersion(b.version);
    return [...r.shards].flatMap((s) => [...(v?.existing(Kind.Title, s)?.keys ?? [])]);
  }

  private push(b: PushBody): boolean {
    const seen = this.pushes.get(b.version);
    // Checked whole before any row changes: a refused push applies nothing.
    const arenas = b.keys.map((k) => this.arenaFor(b.version, b.attempt, k));
    const stride = arenas[0]?.width ?? 0;
    if (b.deltas.length !== b.keys.length * stride) throw new InvalidArgument(`push of ${b.keys.length} rows carries ${b.deltas.length} values`, { fields: ['deltas'] });
    const pieces = b.pieces ?? [[0, b.keys.length]];
    if (pieces.reduce((n, p) => n + p[1], 0) !== b.keys.length) throw new InvalidArgument(`push of ${b.keys.length} rows names pieces of another total`, { fields: ['pieces'] });
    const adagrad = this.ready.get(b.version)?.adagrad;
    let applied = false;
    let j = 0;
    for (const [piece, rows] of pieces) {
      const id = `${b.attempt}/${b.worker}/${b.clock}/${piece}`;
      if (seen?.has(id)) {
        j += rows;
        continue;
      }
      for (const end = j + rows; j < end; j++) {
        const a = arenas[j]!;
        const row = a.view(a.row(b.keys[j]!));
        if (adagrad !== undefined) adagrad.apply(b.keys[j]!, row, b.deltas.subarray(j * stride, (j + 1) * stride));
        else for (let f = 0; f < stride; f++) row[f] += b.deltas[j * stride + f]!;
      }
      applied = true;
      if (seen !== undefined) {
        seen.add(id);
        if (seen.size > MAX_REMEMBERED_PUSHES) seen.delete(seen.values().next().value!);
      }
    }
    return applied;
  }

  /**
   * Makes `version` the one this node serves: rows of its served shards that it lacks (it did
   * not train them, or restarted since) are read from the version's checkpoint first, so that
   * serving never switches to a version it cannot answer from. Returns the shards loaded.
   */
  async activate(version: string): Promise<{ version: string; loadedShards: number }> {
    const m = await this.deps.registry.get(version);
    if (m === undefined) throw new InvalidArgument(`no model version '${version}'`, { fields: ['version'] });
    if (m.checkpoint === undefined) throw new InvalidArgument(`model version ${version} has no checkpoint to serve from`, { fields: ['version'] });
    const v = this.params.version(version, { factors: m.factors, seed: m.seed, initStd: 0 });
    const lacking = new Set(this.system.servedShards().filter((s) => v.existing(Kind.User, s) === undefined || v.existing(Kind.Title, s) === undefined));
    if (lacking.size > 0) {
      const cp = await readCheckpoint(this.blobs, m.checkpoint.prefix);
      for (const p of cp?.parts ?? []) if (lacking.has(p.shard)) v.arena(p.kind, p.shard).load(p.part);
    }
    const loaded = lacking.size;
    if ((await this.deps.serving?.loadMatrix(version)) === undefined && this.deps.serving !== undefined) {
      throw new Unavailable(`model version ${version}: its title rows cannot be read from checkpoint ${m.checkpoint.prefix}`, {});
    }
    this.params.active = version;
    this.log('model version active', { version, loadedShards: loaded });
    return { version, loadedShards: loaded };
  }

  private follow: NodeJS.Timeout | undefined;

  /** Calls `followActive` every `ms` until `stopAll`. */
  followActiveEvery(ms: number): void {
    this.follow = setInterval(() => {
      void this.followActive().catch((err: unknown) => this.log('could not follow the active model version', { error: (err as Error).message }));
    }, ms);
    this.follow.unref();
  }

  /** Follows the registry's active version (a node that missed `reel models activate`, or started later). */
  async followActive(): Promise<void> {
    const id = await this.deps.registry.active();
    if (id !== undefined && id !== this.params.active) await this.activate(id);
  }
}
