import { InvalidArgument, type Actor, type ActorAddress, type ActorContext, type Envelope } from '../../runtime/index.js';
import { unknownMessageType } from '../decode.js';
import { checkpointPrefix } from './checkpoint.js';
import { commitCheckpoint, dropOtherGroups, pruneCheckpoints } from './checkpoints.js';
import {
  CANCELLED_ERROR,
  JobMsg,
  type CheckpointedBody,
  type ClockStats,
  type DoneBody,
  type EpochSummary,
  type JobState,
  type JobStatus,
  type JoinAnswer,
  type JoinBody,
  type PollAnswer,
  type PollBody,
  type ReadyBody,
  type ReconfigureBody,
  type StartBody,
} from './messages.js';
import { checkTrainSpec, stalenessOf, type TrainSpec } from './spec.js';
import type { BlobStore, ModelManifest, ModelRegistry } from './stores.js';

/** What the coordinator keeps across activations (its snapshot). */
interface JobRecord {
  spec: TrainSpec;
  state: JobState;
  attempt: number;
  workers: string[];
  epochsDone: number;
  history: EpochSummary[];
  restarts: string[];
  error?: string;
  /** The global mean the last checkpoint holds. */
  mean: number;
  /** Sum of the identity hashes and count of the data, for the manifest's fingerprint. */
  dataHash: number;
  ratings: number;
}

/** One attempt's progress: in memory only (a new activation begins a new attempt). */
interface AttemptState {
  ready: Map<string, ReadyBody>;
  done: Map<string, number>;
  lastSeen: Map<string, number>;
  /** Per epoch, the shards whose rows their nodes have copied for the checkpoint, and those written. */
  taken: Map<number, Set<number>>;
  checkpointed: Map<number, Set<number>>;
  /** Per epoch, its summary, made when every shard's rows were copied (the epoch's end). */
  summaries: Map<number, EpochSummary>;
  /** Per epoch: summed clock stats. */
  epochStats: Map<number, ClockStats>;
  /** When the current epoch began: the start barrier opened, or the last checkpoint completed. */
  epochBegan: number | undefined;
}

export interface CoordinatorDeps {
  registry: ModelRegistry;
  blobs: BlobStore;
  shardCount: number;
  /** Monotonic ms of this process (worker timeouts). */
  now?: () => number;
}

/**
 * A training job's coordinator, one per model version: the barrier of each clock (all
 * workers done, or within the job's staleness), the epoch checkpoints (complete when every
 * shard's parts are written; then the manifest goes last), and failure handling: a worker
 * silent past `workerTimeoutMs`, or a worker whose shards changed, starts a new attempt from
 * the last checkpoint on the workers that remain. Answers at once, never blocks: workers poll.
 *
 * Its record is persisted on every change of attempt and every checkpoint; an activation
 * that finds a running job in its snapshot begins a new attempt, since the clocks in flight
 * died with the previous activation.
 */
export class CoordinatorActor implements Actor<JobRecord> {
  private rec: JobRecord | undefined;
  private a: AttemptState = freshAttempt();
  private readonly now: () => number;
  /** The record changed on activation and is not written yet. */
  private unsaved = false;

  constructor(
    private readonly address: ActorAddress,
    private readonly deps: CoordinatorDeps,
  ) {
    this.now = deps.now ?? (() => performance.now());
  }

  onActivate(_ctx: ActorContext, snap: JobRecord | undefined): void {
    if (snap === undefined) return;
    this.rec = snap;
    if (snap.state === 'running') {
      this.newAttempt(snap.workers, 'the coordinator moved or restarted');
      // Written with the first message: a snapshot cannot be written while activating.
      this.unsaved = true;
    }
  }

  snapshot(): JobRecord | undefined {
    return this.rec;
  }

  async receive(msg: Envelope, ctx: ActorContext): Promise<unknown> {
    if (this.unsaved) {
      await ctx.persist();
      this.unsaved = false;
    }
    switch (msg.type) {
      case JobMsg.Start:
        return this.start(msg.body as StartBody, ctx);
      case JobMsg.Join:
        return this.join(msg.body as JoinBody);
      case JobMsg.Ready:
        return this.ready(msg.body as ReadyBody);
      case JobMsg.Poll:
        return this.poll(msg.body as PollBody, ctx);
      case JobMsg.Done:
        return this.done(msg.body as DoneBody);
      case JobMsg.Checkpointed:
        return this.checkpointed(msg.body as CheckpointedBody, ctx);
      case JobMsg.Reconfigure:
        return this.reconfigure(msg.body as ReconfigureBody, ctx);
      case JobMsg.Fail:
        return this.fail(String((msg.body as { error?: unknown })?.error ?? 'failed'), ctx);
      case JobMsg.Status:
        return this.status();
      case JobMsg.Cancel:
        return this.cancel(ctx);
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }

  private job(): JobRecord {
    if (this.rec === undefined) throw new InvalidArgument(`no training job for version ${this.address.key}`, { fields: ['version'] });
    return this.rec;
  }

  private async start(b: StartBody, ctx: ActorContext): Promise<JobStatus> {
    if (this.rec !== undefined) return this.status();
    const spec = checkTrainSpec(b.spec);
    if (spec.version !== this.address.key) throw new InvalidArgument(`job for version ${spec.version} sent to coordinator ${this.address.key}`, { fields: ['version'] });
    if (!Array.isArray(b.workers) || b.workers.length === 0) throw new InvalidArgument('a training job needs at least one worker node', { fields: ['workers'] });
    this.rec = { spec, state: 'running', attempt: 1, workers: [...b.workers].sort(), epochsDone: 0, history: [], restarts: [], mean: 0, dataHash: 0, ratings: 0 };
    this.a = freshAttempt();
    for (const w of this.rec.workers) this.a.lastSeen.set(w, this.now());
    await ctx.persist();
    return this.status();
  }

  private join(b: JoinBody): JoinAnswer {
    const r = this.job();
    const stop = r.state !== 'running' || !r.workers.includes(b.node);
    if (!stop) this.a.lastSeen.set(b.node, this.now());
    const checkpoint = r.epochsDone > 0 ? checkpointPrefix(r.spec.version, r.epochsDone) : undefined;
    return { stop, attempt: r.attempt, workers: r.workers, startEpoch: r.epochsDone, ...(checkpoint ? { checkpoint } : {}), spec: r.spec };
  }

  private ready(b: ReadyBody): void {
    const r = this.job();
    if (b.attempt !== r.attempt || !r.workers.includes(b.node)) return;
    this.a.ready.set(b.node, b);
    this.a.lastSeen.set(b.node, this.now());
  }

  /** True when every worker is ready and their shards cover 0..S-1 once each. */
  private allReady(): boolean {
    const r = this.job();
    if (r.workers.some((w) => !this.a.ready.has(w))) return false;
    const seen = new Uint8Array(this.deps.shardCount);
    let n = 0;
    for (const w of r.workers) {
      for (const s of this.a.ready.get(w)!.shards) {
        if (seen[s] === 1) return false;
        seen[s] = 1;
        n++;
      }
    }
    return n === this.deps.shardCount;
  }

  private minDone(): number {
    const r = this.job();
    let min = Infinity;
    for (const w of r.workers) min = Math.min(min, this.a.done.get(w) ?? r.epochsDone * r.spec.clocksPerEpoch - 1);
    return min;
  }

  private async poll(b: PollBody, ctx: ActorContext): Promise<PollAnswer> {
    const r = this.job();
    const now = this.now();
    // A worker still busy with an earlier attempt is alive all the same.
    if (r.workers.includes(b.node)) this.a.lastSeen.set(b.node, now);
    if (r.state === 'running') {
      const silent = r.workers.filter((w) => now - (this.a.lastSeen.get(w) ?? now) > r.spec.workerTimeoutMs);
      if (silent.length > 0 && silent.length < r.workers.length) {
        this.newAttempt(
          r.workers.filter((w) => !silent.includes(w)),
          `worker${silent.length > 1 ? 's' : ''} ${silent.join(', ')} silent for over ${r.spec.workerTimeoutMs} ms`,
        );
        await ctx.persist();
      }
    }
    const minDone = this.minDone();
    let open = false;
    if (r.state === 'running' && b.attempt === r.attempt && this.allReady()) {
      this.a.epochBegan ??= now;
      if (b.clock < 0) open = true;
      else {
        const C = r.spec.clocksPerEpoch;
        const epoch = Math.floor(b.clock / C);
        // A new epoch waits until every shard's rows of the previous one are copied for its
        // checkpoint (their writes may go on); within an epoch, the staleness bound.
        const copied = epoch <= r.epochsDone || this.a.taken.get(epoch - 1)?.size === this.deps.shardCount;
        open = copied && minDone >= b.clock - 1 - stalenessOf(r.spec.consistency);
      }
    }
    return { attempt: r.attempt, state: r.state, open, minDone, epochsDone: r.epochsDone };
  }

  private done(b: DoneBody): void {
    const r = this.job();
    if (b.attempt !== r.attempt || !r.workers.includes(b.node)) return;
    if ((this.a.done.get(b.node) ?? -1) >= b.clock) return;
    this.a.done.set(b.node, b.clock);
    this.a.lastSeen.set(b.node, this.now());
    const epoch = Math.floor(b.clock / r.spec.clocksPerEpoch);
    let e = this.a.epochStats.get(epoch);
    if (e === undefined) this.a.epochStats.set(epoch, (e = zeroStats()));
    for (const k of Object.keys(e) as Array<keyof ClockStats>) e[k] += b.stats[k];
  }

  /**
   * A node's checkpoint of an epoch comes in two reports: its rows copied (`written: false`:
   * once every shard's are, the next epoch may start) and its parts written (once every
   * shard's are, the checkpoint is committed: global parameters, then the manifest). Writes
   * overlap the next epoch's training; commits happen in epoch order.
   */
  private async checkpointed(b: CheckpointedBody, ctx: ActorContext): Promise<void> {
    const r = this.job();
    if (b.attempt !== r.attempt || !r.workers.includes(b.node) || b.epoch < r.epochsDone) return;
    this.a.lastSeen.set(b.node, this.now());
    const into = b.written ? this.a.checkpointed : this.a.taken;
    let got = into.get(b.epoch);
    if (got === undefined) into.set(b.epoch, (got = new Set()));
    for (const s of b.shards) got.add(s);
    if (!b.written) {
      if (got.size === this.deps.shardCount) this.a.summaries.set(b.epoch, this.summarise(b.epoch));
      return;
    }
    let e = this.a.epochStats.get(b.epoch);
    if (e === undefined) this.a.epochStats.set(b.epoch, (e = zeroStats()));
    e.nats += b.seconds ?? 0;
    while (r.state === 'running' && this.a.checkpointed.get(r.epochsDone)?.size === this.deps.shardCount && this.a.summaries.has(r.epochsDone)) {
      await this.commit(r.epochsDone);
    }
    await ctx.persist();
  }

  /** Every shard's parts of `epoch` are written: the global parameters, then the manifest, complete the checkpoint. */
  private async commit(epoch: number): Promise<void> {
    const r = this.job();
    this.noteData();
    const summary = this.a.summaries.get(epoch)!;
    r.history.push(summary);
    const done = epoch + 1;
    const finished = done >= r.spec.epochs;
    const current = await this.deps.registry.get(r.spec.version);
    if (current === undefined) throw new InvalidArgument(`model version ${r.spec.version} is not in the registry`, { fields: ['version'] });
    // Groups an earlier attempt left under this epoch's prefix would hold some shards twice.
    await dropOtherGroups(this.deps.blobs, checkpointPrefix(r.spec.version, done), `a${r.attempt}-`);
    const written = await commitCheckpoint(this.deps.blobs, this.manifestAfter(current, summary, done, false), { mean: r.mean }, 2 * this.deps.shardCount);
    await this.deps.registry.update(r.spec.version, (m) => ({ ...this.manifestAfter(m, summary, done, finished), checkpoint: written.checkpoint! }));
    r.epochsDone = done;
    if (finished) r.state = 'done';
    await pruneCheckpoints(this.deps.blobs, r.spec.version, r.spec.keepCheckpoints);
  }

  private manifestAfter(m: ModelManifest, e: EpochSummary, epochsDone: number, finished: boolean): ModelManifest {
    const r = this.job();
    const metrics: Record<string, number> = { [e.lossName]: e.loss, updates_per_s: e.updatesPerS, epoch_seconds: e.seconds, ratings: r.ratings };
    if (e.validation !== null) metrics[e.validationName] = e.validation;
    return {
      ...m,
      metrics,
      epochsDone,
      dataFingerprint: dataFingerprint(r.dataHash, r.ratings),
      state: finished ? 'READY' : m.state,
      updatedAtMs: Date.now(),
    };
  }

  private summarise(epoch: number): EpochSummary {
    const s = this.a.epochStats.get(epoch) ?? zeroStats();
    const seconds = Math.max(1e-9, (this.now() - (this.a.epochBegan ?? this.now())) / 1000);
    this.a.epochBegan = this.now();
    const total = s.compute + s.encode + s.nats + s.wait || 1;
    return {
      epoch,
      ...(this.job().spec.model === 'mf'
        ? { lossName: 'train_rmse', loss: Math.sqrt(s.loss / Math.max(1, s.n)), validationName: 'validation_rmse', validation: s.validationN > 0 ? Math.sqrt(s.validationSum / s.validationN) : null }
        : { lossName: 'bpr_loss', loss: s.loss / Math.max(1, s.n), validationName: 'validation_auc', validation: s.validationN > 0 ? s.validationSum / s.validationN : null }),
      updatesPerS: s.n / seconds,
      seconds,
      share: { compute: s.compute / total, encode: s.encode / total, nats: s.nats / total, wait: s.wait / total },
    };
  }

  private async reconfigure(b: ReconfigureBody, ctx: ActorContext): Promise<number> {
    const r = this.job();
    if (b.attempt === r.attempt && r.state === 'running') {
      const workers = [...new Set(b.workers)].sort();
      if (workers.length === 0) throw new InvalidArgument('a training job needs at least one worker node', { fields: ['workers'] });
      this.newAttempt(workers, `${b.node}: ${b.reason}`);
      await ctx.persist();
    }
    return r.attempt;
  }

  private async fail(error: string, ctx: ActorContext): Promise<void> {
    const r = this.job();
    if (r.state !== 'running') return;
    r.state = 'failed';
    r.error = error;
    await this.deps.registry.update(r.spec.version, (m) => ({ ...m, state: 'FAILED', error, updatedAtMs: Date.now() }));
    await ctx.persist();
  }

  /**
   * Stops a running job: its workers see it ended at their next poll and stop; its version is
   * FAILED with `CANCELLED_ERROR` (not READY: its epochs are not all done). A job that has
   * ended is left as it is. Answers the status.
   */
  private async cancel(ctx: ActorContext): Promise<JobStatus> {
    const r = this.job();
    if (r.state === 'running') {
      r.state = 'cancelled';
      r.error = CANCELLED_ERROR;
      await this.deps.registry.update(r.spec.version, (m) => ({ ...m, state: 'FAILED', error: CANCELLED_ERROR, updatedAtMs: Date.now() }));
      await ctx.persist();
    }
    return this.status();
  }

  /** The data and global mean of this attempt, from the workers' ready reports. */
  private noteData(): void {
    const r = this.job();
    let hash = 0;
    let n = 0;
    for (const w of r.workers) {
      const b = this.a.ready.get(w);
      if (b === undefined) continue;
      hash = (hash + b.dataHash) >>> 0;
      n += b.ratings;
      r.mean = b.mean;
    }
    r.dataHash = hash;
    r.ratings = n;
  }

  private newAttempt(workers: string[], reason: string): void {
    const r = this.job();
    r.attempt++;
    r.workers = workers;
    r.restarts.push(`attempt ${r.attempt} from epoch ${r.epochsDone}: ${reason}`);
    this.a = freshAttempt();
    for (const w of workers) this.a.lastSeen.set(w, this.now());
  }

  private status(): JobStatus {
    const r = this.job();
    return {
      version: r.spec.version,
      state: r.state,
      attempt: r.attempt,
      workers: r.workers,
      epochsDone: r.epochsDone,
      epochs: r.spec.epochs,
      history: r.history,
      restarts: r.restarts,
      ...(r.error !== undefined ? { error: r.error } : {}),
    };
  }
}

function freshAttempt(): AttemptState {
  return { ready: new Map(), done: new Map(), lastSeen: new Map(), taken: new Map(), checkpointed: new Map(), summaries: new Map(), epochStats: new Map(), epochBegan: undefined };
}

function zeroStats(): ClockStats {
  return { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };
}

/** The data's fingerprint for a distributed job: independent of how the data is spread over workers. */
export function dataFingerprint(hashSum: number, count: number): string {
  return `sum:${(hashSum >>> 0).toString(16).padStart(8, '0')}:${count}`;
}
