import { shardOf, Unavailable, type ActorSystem, type ShardDirectory } from '../../runtime/index.js';
import { fnv1a, fmix32, FNV_OFFSET } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import { checkpointPrefix } from './checkpoint.js';
import { groupOf, readCheckpoint, writeCheckpointGroup } from './checkpoints.js';
import {
  JobMsg,
  NodeMsg,
  PsMsg,
  type CheckpointedBody,
  type ClockStats,
  type DoneBody,
  type EncoderInitBody,
  type EncoderPushBody,
  type GatherBody,
  type GraphAdamStep,
  type GraphReduceAnswer,
  type GraphReduceBody,
  type JoinAnswer,
  type PollAnswer,
  type PullBody,
  type PushBody,
  type ReadyBody,
  type ReconfigureBody,
} from './messages.js';
import { isTransient } from './driver.js';
import type { NodeParams } from './node-params.js';
import { isGraphModel, type TrainSpec } from './spec.js';
import { BprTrainer, localData, MfTrainer, Yielder, type LocalUser, type Trainer } from './trainers.js';
import { LightGcnTrainer, type GraphExchange } from './lightgcn-trainer.js';
import { writeContentModel, type ContentHost, type ServedContentModel } from './content-phase.js';
import { loadTf, metadataFeatureNames } from '../../models/index.js';
import { TitleMsg, type TitleSummary } from '../messages.js';
import type { BlobStore } from './stores.js';
import type { VersionParams } from './arena.js';

/** What a worker needs from its node. */
export interface WorkerHost {
  readonly system: ActorSystem;
  readonly params: NodeParams;
  readonly blobs: BlobStore;
  readonly directory: ShardDirectory;
  /** Marks a version's shards on this node ready for an attempt's pulls and pushes. */
  setReady(version: string, attempt: number, shards: readonly number[], update?: Pick<TrainSpec, 'titleUpdate' | 'adagradStep'>): void;
  /** LightGCN's sum over this node's titles, handed over in process (the worker's share to its own node skips NATS). */
  reduceHere?(body: GraphReduceBody): Promise<GraphReduceAnswer>;
  /** Hooks for metrics and logs. */
  onClock?(version: string, clock: number, stats: ClockStats): void;
  onEpoch?(version: string, epoch: number): void;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

/** A clock's rows for one title shard (or a part of one too large for a message), sent whole. */
interface Piece {
  id: number;
  shard: number;
  /** Indices into the trainer's titles. */
  idx: number[];
}

/** How an attempt ended: the job is over for this node, or a new attempt must start. */
type Outcome = 'finished' | 'restart';

/** Deadline of a worker's asks to the coordinator, the parameter server and other nodes. */
const ASK_DEADLINE_MS = 10_000;
/** Deadline of one poll of the coordinator. */
const POLL_DEADLINE_MS = 1_000;
/** Rows of title parameters in one pull or push message, in bytes: well under NATS's default max payload (1 MiB). */
const MAX_ROWS_BYTES = 512 * 1024;
/** Room per row for its key in a message, in bytes (a MessagePack string). */
const KEY_BYTES = 24;
/** Rows of `stride` floats that fit in one message under `MAX_ROWS_BYTES`. */
function rowsPerMessage(stride: number): number {
  return Math.max(1, Math.floor(MAX_ROWS_BYTES / (stride * 4 + KEY_BYTES)));
}

/** Piece ids are `shard × this + n`: room for a shard of this many pieces. */
const PIECES_PER_SHARD = 1 << 16;
/** Rounds of sending a clock's rows after which a failure that keeps coming fails the attempt. */
const MAX_SEND_ROUNDS = 20;
/** Barrier polls back off from 1 ms up to this. */
const MAX_POLL_DELAY_MS = 4;

class AttemptChanged extends Error {}

/** REEL_TRAIN_DEBUG=1: a log line per clock and per epoch barrier, with where the time went. */
const DEBUG = process.env.REEL_TRAIN_DEBUG === '1';

/**
 * A failpoint for tests of a job disturbed mid-way: `REEL_TRAIN_HOLD=join3:3,kill:3` makes the
 * workers of version `join3` hold after its epoch 3 (checkpoint taken) in its first attempt, polling
 * as at a barrier, until the attempt changes (a node joined or died). Without it such a test
 * races the job's end: a node that starts slowly on a loaded machine joins a finished job.
 */
const HOLD_AFTER_EPOCH: ReadonlyMap<string, number> = new Map(
  (process.env.REEL_TRAIN_HOLD ?? '')
    .split(',')
    .filter((x) => x.includes(':'))
    .map((x) => [x.slice(0, x.lastIndexOf(':')), Number(x.slice(x.lastIndexOf(':') + 1))] as const),
);

/** Transient failures in a row after which a worker gives up (and fails the job). */
const MAX_TRANSIENT_FAILURES = 12;

/** A failure that passes: no owner for a shard now, a node or the coordinator moving, a late answer. */
/**
 * One node's worker of a training job. It trains on the ratings of the users whose shards
 * this node serves, their rows updated in place in memory; per clock it pulls the title rows
 * it needs in one message per owning node, trains its slice of the epoch, and pushes the
 * title deltas back the same way. Each epoch ends with a checkpoint of the node's shards.
 */
export class Worker {
  private readonly node: string;
  private readonly S: number;
  private stopped = false;
  private pinned = false;
  /** The workers of the attempt running now. */
  private workers: readonly string[] = [];

  constructor(
    private readonly host: WorkerHost,
    readonly version: string,
  ) {
    this.node = host.system.nodeId;
    this.S = host.system.options.shardCount;
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Runs attempts until the job ends for this node. A transient failure (a node gone, a shard
   * moving: the coordinator may be among them) ends the attempt, not the job: the worker joins
   * again, up to `MAX_TRANSIENT_FAILURES` times in a row. Never rejects.
   */
  async run(): Promise<void> {
    let transient = 0;
    try {
      for (;;) {
        if (this.stopped) return;
        let outcome: Outcome;
        try {
          const j = await this.askJob<JoinAnswer>(JobMsg.Join, { node: this.node });
          if (j.stop) return;
          if (!this.pinned) {
            this.host.params.pin();
            this.pinned = true;
          }
          outcome = await this.attempt(j);
          transient = 0;
        } catch (err) {
          if (err instanceof AttemptChanged) outcome = 'restart';
          else if (isTransient(err) && ++transient <= MAX_TRANSIENT_FAILURES) {
            this.host.log?.('training worker: transient failure; joining again', { version: this.version, error: (err as Error).message, failures: transient });
            await sleep(Math.min(2_000, 50 * 2 ** transient));
            outcome = 'restart';
          } else throw err;
        }
        if (outcome === 'finished') return;
      }
    } catch (err) {
      this.host.log?.('training worker failed', { version: this.version, error: (err as Error).message });
      await this.askJob(JobMsg.Fail, { error: `worker on ${this.node}: ${(err as Error).message}` }).catch(() => undefined);
    } finally {
      if (this.pinned) this.host.params.unpin();
      // The trainer's ratings and orders were placed beside the rows: give the memory back.
      const compacted = this.host.params.existingVersion(this.version)?.compact();
      if (DEBUG && compacted) this.host.log?.('rows compacted', { version: this.version });
    }
  }

  private async attempt(j: JoinAnswer): Promise<Outcome> {
    // Long steps (activating every actor of the shards, reading a checkpoint) do not poll: a
    // heartbeat tells the coordinator this worker is alive meanwhile.
    const beat = setInterval(() => void this.poll(j.attempt, -1).catch(() => undefined), Math.max(100, Math.floor(j.spec.workerTimeoutMs / 4)));
    try {
      return await this.runAttempt(j);
    } finally {
      clearInterval(beat);
    }
  }

  private async runAttempt(j: JoinAnswer): Promise<Outcome> {
    // A write left from an earlier attempt counts for nothing now.
    await this.writing.catch(() => undefined);
    this.writing = Promise.resolve();
    const spec = j.spec;
    const attempt = j.attempt;
    this.workers = j.workers;
    const shards = this.host.system.servedShards().sort((a, b) => a - b);
    const v = this.host.params.version(spec.version, { factors: spec.factors, seed: spec.seed, initStd: spec.initStd });
    const tp = performance.now();
    await this.prepare(v, shards, j.checkpoint);
    if (DEBUG) this.host.log?.('prepared', { attempt, shards: shards.length, seconds: (performance.now() - tp) / 1000 });
    this.host.setReady(spec.version, attempt, shards, spec);
    const users: LocalUser[] = [];
    for (const s of shards) {
      const m = this.host.params.usersOf(s);
      for (const key of [...m.keys()].sort()) users.push({ shard: s, key, history: m.get(key)! });
    }
    const data = await localData(spec, users, this.host.params.titleIndex);
    if (DEBUG) this.host.log?.('data read', { attempt, users: users.length, ratings: data.count, seconds: (performance.now() - tp) / 1000 });

    await this.host.system.ask(Kind.TrainPs, spec.version, PsMsg.Contribute, { node: this.node, attempt, sum: data.sum, count: data.count }, { deadlineMs: ASK_DEADLINE_MS });
    let mean: number | null = null;
    let total = 0;
    while (mean === null) {
      const g = await this.host.system.ask<{ mean: number | null; count?: number | null }>(Kind.TrainPs, spec.version, PsMsg.Get, { attempt, workers: j.workers.length }, { deadlineMs: ASK_DEADLINE_MS });
      mean = g.mean;
      total = g.count ?? 0;
      if (mean === null) await this.waitTurn(attempt, -1, shards, true);
    }
    await this.askJob(JobMsg.Ready, { node: this.node, attempt, shards, ratings: data.count, dataHash: data.hash, mean } satisfies ReadyBody);
    await this.waitTurn(attempt, -1, shards, true);

    const seed = (spec.seed ^ fmix32(fnv1a(FNV_OFFSET, this.node))) >>> 0;
    // BPR and LightGCN draw negatives from the whole catalog: every node's titles of this version.
    // LightGCN's trainer exchanges the titles' degrees as it is made: every worker must be ready (the start barrier).
    if (isGraphModel(spec.model) && (await this.waitTurn(attempt, -1, shards, false)) === 'finished') return 'finished';
    const catalog = spec.model === 'mf' ? [] : await this.catalog(spec, attempt);
    const trainer: Trainer =
      spec.model === 'mf'
        ? await MfTrainer.create(spec, data, v, mean, seed)
        : spec.model === 'bpr'
          ? await BprTrainer.create(spec, data, v, catalog, seed)
          : await LightGcnTrainer.create(spec, data, v, catalog, seed, total, this.exchange(spec, attempt, catalog), spec.model === 'content-gnn' ? this.contentHost(spec, attempt) : undefined);
    if (DEBUG) this.host.log?.('trainer ready', { attempt, seconds: (performance.now() - tp) / 1000 });
    try {
      return await this.epochs(j, v, shards, trainer);
    } finally {
      trainer.release();
    }
  }

  /** The attempt's epochs, from its start epoch: clocks, the epoch barrier, the checkpoint. */
  private async epochs(j: JoinAnswer, v: VersionParams, shards: readonly number[], trainer: Trainer): Promise<Outcome> {
    const { spec, attempt } = j;
    const yielder = new Yielder();
    const C = spec.clocksPerEpoch;
    // The epochs already done are drawn, so that a resumed run continues the same sequence.
    for (let e = 0; e < j.startEpoch; e++) trainer.beginEpoch();
    for (let epoch = j.startEpoch; epoch < spec.epochs; epoch++) {
      const lr = spec.lr * Math.pow(spec.lrDecay, epoch);
      trainer.beginEpoch();
      for (let c = 0; c < C; c++) {
        const clock = epoch * C + c;
        const stats: ClockStats = { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };
        const t0c = performance.now();
        let t = performance.now();
        const state = await this.waitTurn(attempt, clock, shards, false);
        if (state === 'finished') return 'finished';
        stats.wait += (performance.now() - t) / 1000;
        await this.pull(spec, attempt, trainer, stats);
        t = performance.now();
        const counted = stats.compute + stats.encode + stats.nats + stats.wait;
        await trainer.clock(c, C, lr, stats, yielder);
        // Turns of the event loop within the clock (other workers' pulls and pushes served) count as waits.
        stats.wait += (performance.now() - t) / 1000 - (stats.compute + stats.encode + stats.nats + stats.wait - counted);
        t = performance.now();
        if (c === C - 1) trainer.validate(stats);
        stats.compute += (performance.now() - t) / 1000;
        if (!trainer.exchanges) await this.push(spec, attempt, clock, trainer, stats);
        this.host.onClock?.(spec.version, clock, stats);
        await this.askJob(JobMsg.Done, { node: this.node, attempt, clock, stats } satisfies DoneBody);
        if (DEBUG) this.host.log?.('clock', { clock, ...stats, total: (performance.now() - t0c) / 1000 });
      }
      // Every worker's pushes of the epoch are in before any title row is written out.
      const last = epoch * C + C - 1;
      const tb = performance.now();
      for (let delay = 1; ; delay = Math.min(MAX_POLL_DELAY_MS, delay * 2)) {
        const p = await this.poll(attempt, -1);
        if (p.minDone >= last) break;
        await sleep(delay);
      }
      if (DEBUG) this.host.log?.('epoch barrier', { epoch, barrier: (performance.now() - tb) / 1000 });
      if (epoch === spec.epochs - 1 && trainer.finish !== undefined) {
        // The rows to serve: every worker takes part (LightGCN: one more forward pass).
        const stats: ClockStats = { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };
        const served = new Set(shards);
        await trainer.finish(stats, (key) => {
          const s = shardOf(Kind.Title, key, this.S);
          if (!served.has(s)) return undefined;
          const a = v.arena(Kind.Title, s);
          return a.view(a.row(key));
        });
      }
      const tc = performance.now();
      await this.checkpoint(spec, v, attempt, epoch, shards);
      if (DEBUG) this.host.log?.('checkpoint copied', { epoch, seconds: (performance.now() - tc) / 1000 });
      this.host.onEpoch?.(spec.version, epoch);
      if (attempt === 1 && HOLD_AFTER_EPOCH.get(spec.version) === epoch + 1) {
        this.host.log?.('training worker: holding (REEL_TRAIN_HOLD) until the attempt changes', { version: spec.version, epochs: epoch + 1 });
        if ((await this.waitTurn(attempt, -1, shards, 'hold')) === 'finished') return 'finished';
      }
    }
    await this.writing;
    return 'finished';
  }

  /** Every title of the version, from every owning node, sorted (the same catalog on every worker). */
  private async catalog(spec: TrainSpec, attempt: number): Promise<string[]> {
    const owners = new Set<string>();
    for (let s = 0; s < this.S; s++) {
      const o = this.host.directory.ownerOf(s);
      if (o === undefined) throw new AttemptChanged();
      owners.add(o);
    }
    const lists = await Promise.all([...owners].map((n) => this.host.system.askNode<string[]>(n, NodeMsg.Titles, { version: spec.version, attempt }, { deadlineMs: ASK_DEADLINE_MS })));
    return [...new Set(lists.flatMap((a) => a.value))].sort();
  }

  /** Activates every user and title of `shards` (they hold the training views), then sets the rows: from the checkpoint, or fresh. */
  private async prepare(v: VersionParams, shards: readonly number[], checkpoint: string | undefined): Promise<void> {
    const served = new Set(shards);
    for (const kind of [Kind.User, Kind.Title]) await this.activateAll(kind, served);
    this.host.params.dropShards((s) => served.has(s));
    // Rows of any earlier attempt are stale: every attempt starts from the checkpoint, or from the seed.
    v.dropShards(() => false);
    // A checkpoint pruned since the coordinator named it, or while this node reads it (a newer
    // one completed), is transient: the worker joins again and gets the newer one.
    const cp = checkpoint === undefined ? undefined : await readCheckpoint(this.host.blobs, checkpoint);
    if (checkpoint !== undefined && cp === undefined) throw new Unavailable(`checkpoint ${checkpoint} is not complete (pruned meanwhile?)`, {});
    for (const p of cp?.parts ?? []) if (served.has(p.shard)) v.arena(p.kind, p.shard).load(p.part);
    for (const s of shards) {
      const users = v.arena(Kind.User, s);
      const titles = v.arena(Kind.Title, s);
      for (const key of this.host.params.usersOf(s).keys()) users.row(key);
      for (const key of this.host.params.titlesOf(s)) titles.row(key);
    }
  }

  private async activateAll(kind: string, served: ReadonlySet<number>): Promise<void> {
    const sys = this.host.system;
    const stored = await sys.store.keys(kind);
    const missing = stored.filter((k) => served.has(shardOf(kind, k, this.S)) && !sys.isActive(kind, k));
    const CONCURRENCY = 256;
    for (let i = 0; i < missing.length; i += CONCURRENCY) {
      await Promise.all(missing.slice(i, i + CONCURRENCY).map((k) => sys.ask(kind, k, 'summary', undefined, { deadlineMs: ASK_DEADLINE_MS })));
    }
  }

  /** The pulled title rows, kept for the deltas of the push. */
  private pulled: Float32Array = new Float32Array(0);

  /** Title rows into the trainer's rows, in one ask per owning node; a copy is kept for the deltas. */
  private async pull(spec: TrainSpec, attempt: number, trainer: Trainer, stats: ClockStats): Promise<void> {
    const width = spec.factors + 1;
    const titles = trainer.titles;
    if (this.pulled.length !== titles.length * width) this.pulled = new Float32Array(titles.length * width);
    const pulled = this.pulled;
    await this.byOwner(attempt, titles, width, stats, async (node, idx) => {
      const keys = idx.map((i) => titles[i]!);
      const a = await this.host.system.askNode<{ rows: Float32Array }>(node, NodeMsg.Pull, { version: spec.version, attempt, keys } satisfies PullBody, { deadlineMs: ASK_DEADLINE_MS });
      const rows = a.value.rows;
      const t = performance.now();
      const into = trainer.titleRows();
      const slot = trainer.slot;
      for (let j = 0; j < idx.length; j++) {
        const row = rows.subarray(j * width, (j + 1) * width);
        pulled.set(row, idx[j]! * width);
        into.set(row, idx[j]! * slot);
      }
      stats.encode += (performance.now() - t) / 1000;
    });
  }

  /** The trainer's changes to the title rows, as deltas, in one ask per owning node. */
  private async push(spec: TrainSpec, attempt: number, clock: number, trainer: Trainer, stats: ClockStats): Promise<void> {
    const width = spec.factors + 1;
    const pulled = this.pulled;
    const { titles, slot } = trainer;
    await this.byOwner(attempt, titles, width, stats, async (node, idx, pieces) => {
      const t = performance.now();
      const rows = trainer.titleRows();
      const deltas = new Float32Array(idx.length * width);
      for (let j = 0; j < idx.length; j++) {
        const i = idx[j]!;
        for (let f = 0; f < width; f++) deltas[j * width + f] = rows[i * slot + f]! - pulled[i * width + f]!;
      }
      stats.encode += (performance.now() - t) / 1000;
      const body: PushBody = { version: spec.version, attempt, worker: this.node, clock, pieces, keys: idx.map((i) => titles[i]!), deltas };
      await this.host.system.askNode(node, NodeMsg.Push, body, { deadlineMs: ASK_DEADLINE_MS });
    });
  }

  /** The pieces of `titles` (cut once per trainer: a resend finds the same pieces). */
  private piecesOf(titles: readonly string[], stride: number): Piece[] {
    if (this.pieces?.titles === titles) return this.pieces.pieces;
    const perPiece = rowsPerMessage(stride);
    const byShard = new Map<number, number[]>();
    for (let i = 0; i < titles.length; i++) {
      const s = shardOf(Kind.Title, titles[i]!, this.S);
      (byShard.get(s) ?? byShard.set(s, []).get(s)!).push(i);
    }
    const pieces: Piece[] = [];
    for (const [shard, idx] of [...byShard].sort((a, b) => a[0] - b[0])) {
      for (let n = 0; n * perPiece < idx.length; n++) pieces.push({ id: shard * PIECES_PER_SHARD + n, shard, idx: idx.slice(n * perPiece, (n + 1) * perPiece) });
    }
    this.pieces = { titles, pieces };
    return pieces;
  }

  private pieces: { titles: readonly string[]; pieces: Piece[] } | undefined;

  /**
   * Sends the rows of `titles` to their owning nodes: the title shards' pieces, packed per
   * node into messages of at most `MAX_ROWS_BYTES` of rows (`stride` floats each), so that no
   * message passes NATS's max payload. A failed message's pieces are sent again (owners looked
   * up again, packed anew) until they succeed or the attempt changes; a failure that is not
   * transient, or that keeps coming, fails the attempt.
   */
  private async byOwner(
    attempt: number,
    titles: readonly string[],
    stride: number,
    stats: ClockStats,
    send: (node: string, idx: number[], pieces: Array<[number, number]>) => Promise<void>,
  ): Promise<void> {
    const perMessage = rowsPerMessage(stride);
    let todo = this.piecesOf(titles, stride);
    for (let round = 1, delay = 5; todo.length > 0; round++, delay = Math.min(500, delay * 2)) {
      const messages: Array<{ node: string; idx: number[]; pieces: Array<[number, number]>; of: Piece[] }> = [];
      const open = new Map<string, (typeof messages)[number]>();
      const orphans: Piece[] = [];
      for (const p of todo) {
        const node = this.host.directory.ownerOf(p.shard);
        if (node === undefined) {
          orphans.push(p);
          continue;
        }
        let m = open.get(node);
        if (m === undefined || m.idx.length + p.idx.length > perMessage) {
          m = { node, idx: [], pieces: [], of: [] };
          messages.push(m);
          open.set(node, m);
        }
        for (const i of p.idx) m.idx.push(i);
        m.pieces.push([p.id, p.idx.length]);
        m.of.push(p);
      }
      const t = performance.now();
      const results = await Promise.allSettled(messages.map((m) => send(m.node, m.idx, m.pieces)));
      stats.nats += (performance.now() - t) / 1000;
      todo = orphans;
      let error: unknown;
      for (let g = 0; g < results.length; g++) {
        const r = results[g]!;
        if (r.status === 'rejected') {
          todo.push(...messages[g]!.of);
          error = r.reason;
        }
      }
      if (todo.length === 0) return;
      if (error !== undefined) {
        if (!isTransient(error) || round >= MAX_SEND_ROUNDS) throw error;
        if (DEBUG) this.host.log?.('rows not sent; again', { attempt, pieces: todo.length, round, error: (error as Error).message });
      }
      const p = await this.poll(attempt, -1);
      if (p.attempt !== attempt || p.state !== 'running') throw new AttemptChanged();
      await sleep(delay);
    }
  }

  /**
   * LightGCN's exchange for `attempt`: each owning node's titles of the catalog, cut into
   * chunks under `MAX_ROWS_BYTES` (the same cut on every worker), sent to the owner, which
   * answers every worker once all shares are in. A failure ends the attempt (the shares of a
   * sum cannot be sent again to a half-finished one): the job resumes from its checkpoint.
   */
  private exchange(spec: TrainSpec, attempt: number, titles: readonly string[]): GraphExchange {
    const cuts = new Map<number, Array<{ node: string; chunk: number; idx: number[] }>>();
    const workers = this.workers.length;
    return {
      reduce: async (step, rows, width, stats, opts = {}) => {
        let cut = cuts.get(width);
        if (cut === undefined) cuts.set(width, (cut = this.cutByOwner(titles, width)));
        const out = new Float32Array(titles.length * width);
        const t = performance.now();
        let waited = 0;
        await Promise.all(
          cut.map(async ({ node, chunk, idx }) => {
            const share = new Float32Array(idx.length * width);
            for (let j = 0; j < idx.length; j++) share.set(rows.subarray(idx[j]! * width, (idx[j]! + 1) * width), j * width);
            const adam: GraphAdamStep | undefined = opts.adam === undefined ? undefined : { ...opts.adam, counts: Float32Array.from(idx, (i) => opts.adam!.counts[i]!) };
            const body: GraphReduceBody = {
              version: spec.version, attempt, worker: this.node, workers, step, chunk, keys: idx.map((i) => titles[i]!), width, rows: share,
              ...(opts.accumulate !== undefined ? { accumulate: opts.accumulate } : {}),
              ...(adam !== undefined ? { adam } : {}),
            };
            const a = node === this.node && this.host.reduceHere !== undefined ? await this.host.reduceHere(body) : (await this.host.system.askNode<GraphReduceAnswer>(node, NodeMsg.GraphReduce, body, { deadlineMs: ASK_DEADLINE_MS })).value;
            waited = Math.max(waited, a.waited);
            for (let j = 0; j < idx.length; j++) out.set(a.rows.subarray(j * width, (j + 1) * width), idx[j]! * width);
          }),
        );
        const seconds = (performance.now() - t) / 1000;
        stats.wait += Math.min(waited, seconds);
        stats.nats += Math.max(0, seconds - waited);
        return out;
      },
    };
  }

  /**
   * The content-aware phase's way to its titles and to the parameter server for `attempt`: the
   * titles' features from their actors' metadata, and gathers and encoder steps at the job's
   * parameter-server actor, polled (an actor answers one message at a time) with a look at the
   * coordinator now and then, so that a worker gone ends the wait with the attempt.
   */
  private contentHost(spec: TrainSpec, attempt: number): ContentHost & { writeModel(m: ServedContentModel): Promise<void> } {
    const sys = this.host.system;
    const workers = this.workers.length;
    const ps = <R>(type: string, body: unknown) => sys.ask<R>(Kind.TrainPs, spec.version, type, body, { deadlineMs: ASK_DEADLINE_MS });
    const until = async <R>(ask: () => Promise<R | null>): Promise<R> => {
      for (let tries = 1, delay = 1; ; tries++, delay = Math.min(MAX_POLL_DELAY_MS, delay * 2)) {
        const r = await ask();
        if (r !== null) return r;
        if (tries % 64 === 0) {
          const p = await this.poll(attempt, -1);
          if (p.attempt !== attempt || p.state !== 'running') throw new AttemptChanged();
        }
        await sleep(delay);
      }
    };
    return {
      features: async (keys) => {
        const out: string[][] = [];
        const CONCURRENCY = 256;
        for (let i = 0; i < keys.length; i += CONCURRENCY) {
          const got = await Promise.all(keys.slice(i, i + CONCURRENCY).map((k) => sys.ask<TitleSummary>(Kind.Title, k, TitleMsg.Summary, undefined, { deadlineMs: ASK_DEADLINE_MS })));
          for (const t of got) out.push(metadataFeatureNames(t));
        }
        return out;
      },
      gather: <T>(key: string, value: T) => until(async () => (await ps<{ values: T[] | null }>(PsMsg.Gather, { attempt, node: this.node, key, workers, value } satisfies GatherBody)).values),
      encoderInit: async (shape, seed, lr) => (await ps<{ weights: Float32Array }>(PsMsg.EncoderInit, { attempt, shape, seed, lr } satisfies EncoderInitBody)).weights,
      encoderPush: (step, grads, rows) => until(async () => (await ps<{ weights: Float32Array | null }>(PsMsg.EncoderPush, { attempt, node: this.node, workers, step, grads, rows } satisfies EncoderPushBody)).weights),
      tf: async () => (await loadTf()).tf,
      writeModel: async (m) => {
        // One worker writes it: every worker holds the same model.
        if ([...this.workers].sort()[0] === this.node) await writeContentModel(this.host.blobs, spec.version, m);
      },
    };
  }

  /** The catalog's titles by owning node, in chunks of at most a message's rows of `width` floats. */
  private cutByOwner(titles: readonly string[], width: number): Array<{ node: string; chunk: number; idx: number[] }> {
    const per = rowsPerMessage(width);
    const byNode = new Map<string, number[]>();
    for (let i = 0; i < titles.length; i++) {
      const node = this.host.directory.ownerOf(shardOf(Kind.Title, titles[i]!, this.S));
      if (node === undefined) throw new AttemptChanged();
      (byNode.get(node) ?? byNode.set(node, []).get(node)!).push(i);
    }
    const out: Array<{ node: string; chunk: number; idx: number[] }> = [];
    for (const [node, idx] of byNode) for (let c = 0; c * per < idx.length; c++) out.push({ node, chunk: c, idx: idx.slice(c * per, (c + 1) * per) });
    return out;
  }

  /** The previous checkpoint's writes, still going: awaited before the next one and at the end. */
  private writing: Promise<void> = Promise.resolve();

  /**
   * Copies this node's rows of the epoch and reports them taken (the next epoch may start),
   * then writes them in the background and reports them written (the coordinator commits the
   * checkpoint once every shard's are). One write in flight at a time; its failure fails the
   * attempt at the next checkpoint or at the end.
   */
  private async checkpoint(spec: TrainSpec, v: VersionParams, attempt: number, epoch: number, shards: readonly number[]): Promise<void> {
    await this.writing;
    // Named by epochs done, as the manifest counts them.
    const prefix = checkpointPrefix(spec.version, epoch + 1);
    const parts = shards.flatMap((shard) => [Kind.User, Kind.Title].map((kind) => ({ kind, shard, part: v.arena(kind, shard).part() })));
    await this.askJob(JobMsg.Checkpointed, { node: this.node, attempt, epoch, shards: [...shards], written: false, seconds: 0 } satisfies CheckpointedBody);
    const t = performance.now();
    this.writing = writeCheckpointGroup(this.host.blobs, prefix, groupOf(attempt, this.node), parts).then(async () => {
      const seconds = (performance.now() - t) / 1000;
      await this.askJob(JobMsg.Checkpointed, { node: this.node, attempt, epoch, shards: [...shards], written: true, seconds } satisfies CheckpointedBody);
    });
    // Handled where it is awaited; this keeps an early failure from being reported as unhandled.
    this.writing.catch(() => undefined);
  }

  /**
   * Polls the coordinator until `clock` (-1: the start barrier) may start (`once`: one poll), the job ends, or the attempt
   * changes (thrown as AttemptChanged; a change of this node's shards or of the owners asks for one).
   * `'hold'` never opens: it waits for the end or a change.
   */
  private async waitTurn(attempt: number, clock: number, shards: readonly number[], once: boolean | 'hold'): Promise<'open' | 'finished'> {
    for (let delay = 1; ; delay = Math.min(MAX_POLL_DELAY_MS, delay * 2)) {
      const p = await this.poll(attempt, clock);
      if (p.state !== 'running') return 'finished';
      if (p.attempt !== attempt) throw new AttemptChanged();
      if (!sameShards(shards, this.host.system.servedShards())) {
        await this.reconfigure(attempt, 'its shards changed');
        throw new AttemptChanged();
      }
      if ((p.open && once !== 'hold') || once === true) return 'open';
      // A shard owned by a node outside this attempt (it joined, or was dropped while alive)
      // would keep the barrier shut for ever: start an attempt with the owners there are.
      const owners = this.owners();
      if (owners !== undefined && !sameShardOwners(owners, this.workers)) {
        await this.reconfigure(attempt, `shards are owned by ${[...owners].sort().join(', ')}, the attempt's workers are ${this.workers.join(', ')}`);
        throw new AttemptChanged();
      }
      await sleep(delay);
    }
  }

  /** The nodes owning shards now, or undefined while a shard has no owner. */
  private owners(): Set<string> | undefined {
    const out = this.knownOwners();
    for (let s = 0; s < this.S; s++) if (this.host.directory.ownerOf(s) === undefined) return undefined;
    return out;
  }

  /** The nodes owning some shard now. */
  private knownOwners(): Set<string> {
    const out = new Set<string>();
    for (let s = 0; s < this.S; s++) {
      const o = this.host.directory.ownerOf(s);
      if (o !== undefined) out.add(o);
    }
    return out;
  }

  /** Asks the coordinator for a new attempt on the nodes that own shards now, and starts their workers. */
  private async reconfigure(attempt: number, reason: string): Promise<void> {
    const owners = this.knownOwners();
    owners.add(this.node);
    await this.askJob(JobMsg.Reconfigure, { node: this.node, attempt, workers: [...owners], reason } satisfies ReconfigureBody);
    await Promise.allSettled([...owners].filter((n) => n !== this.node).map((n) => this.host.system.askNode(n, NodeMsg.StartWorker, { version: this.version }, { deadlineMs: ASK_DEADLINE_MS })));
  }

  /**
   * Asks the coordinator where the job stands. Polls are many and change nothing: a short
   * deadline keeps the coordinator's memory of answered asks (written with its record, which
   * must stay under NATS's max payload) small, and a poll that times out is simply sent again,
   * up to the usual patience.
   */
  private async poll(attempt: number, clock: number): Promise<PollAnswer> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.host.system.ask<PollAnswer>(Kind.TrainJob, this.version, JobMsg.Poll, { node: this.node, attempt, clock }, { deadlineMs: POLL_DEADLINE_MS });
      } catch (err) {
        if (!isTransient(err) || tries * POLL_DEADLINE_MS >= ASK_DEADLINE_MS) throw err;
      }
    }
  }

  private askJob<R = unknown>(type: string, body: unknown): Promise<R> {
    return this.host.system.ask<R>(Kind.TrainJob, this.version, type, body, { deadlineMs: ASK_DEADLINE_MS });
  }
}

function sameShardOwners(owners: ReadonlySet<string>, workers: readonly string[]): boolean {
  return owners.size === workers.length && workers.every((w) => owners.has(w));
}

function sameShards(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

