import { describe, expect, it } from 'vitest';
import { ActorSystem, ManualClock, memorySnapshotStore, shardOf, type ActorSystemConfig, type RuntimeEvent } from '../../runtime/index.js';
import { Kind, NodeParams, registerReelActors, type InteractionBody } from '../index.js';
import { WasmArena } from '../../models/index.js';
import { initialRow, ParamArena, VersionParams } from './arena.js';
import { TitleInterner, UserHistory } from './node-params.js';
import { BprTrainer, COMPUTE_SLICE_ROWS, localData, MfTrainer, Yielder, type LocalUser } from './trainers.js';
import { MemoryBlobStore, MemoryModelRegistry } from './memory-stores.js';
import { NodeMsg, type PushBody } from './messages.js';
import { NodeTraining } from './node-training.js';

const shape = { factors: 4, seed: 9, initStd: 0.1 };

const ev = (over: Partial<InteractionBody> = {}): InteractionBody => ({ eventId: '', userId: 'u1', titleId: 't1', type: 'RATING', value: 4, eventTimeMs: 1_000, ...over });

function ended(kind: string, key: string, reason: string): { onEvent: (e: RuntimeEvent) => void; done: Promise<void> } {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { onEvent: (e) => e.type === 'activation-end' && e.kind === kind && e.key === key && e.reason === reason && resolve(), done };
}

async function node(params: NodeParams, opts: ActorSystemConfig = {}): Promise<ActorSystem> {
  return registerReelActors(new ActorSystem({ nodeId: 'p', shardCount: 8, ...opts }), params).start();
}

describe('parameter arenas', () => {
  it('arena - a row starts from the seed and the address only: the same on any node, in any order', () => {
    const make = () => new ParamArena(new WasmArena(), shape.factors, (key, row) => initialRow(shape, 'user', key, row));
    const a = make();
    const b = make();
    for (const k of ['x', 'y', 'z']) a.row(k);
    for (const k of ['z', 'x']) b.row(k);
    expect(a.copyOf('x')).toEqual(b.copyOf('x'));
    expect(a.copyOf('z')).toEqual(b.copyOf('z'));
    expect(a.copyOf('x')).not.toEqual(a.copyOf('y'));
    expect(a.copyOf('x')![shape.factors]).toBe(0);
    const other = new Float32Array(shape.factors + 1);
    initialRow({ ...shape, seed: 10 }, 'user', 'x', other);
    expect(other).not.toEqual(a.copyOf('x'));
  });

  it('arena - rows keep their values as it grows (each move reported), and a part round-trips', () => {
    const mem = new WasmArena();
    let moves = 0;
    const a = new ParamArena(mem, 2, (_k, row) => row.fill(1), () => moves++);
    // Another arena in the same memory, made between: growing must not overwrite it.
    const other = new ParamArena(mem, 2, (_k, row) => row.fill(7));
    other.row('o');
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    const first = a.address(0);
    for (const [i, k] of keys.entries()) a.set(k, Float32Array.of(i, -i, i / 2));
    expect(a.size).toBe(300);
    expect(moves).toBe(3); // 64 → 128 → 256 → 512 rows
    expect(a.address(0)).not.toBe(first);
    expect(a.copyOf('k7')).toEqual(Float32Array.of(7, -7, 3.5));
    expect(a.copyOf('k299')).toEqual(Float32Array.of(299, -299, 149.5));
    expect(other.copyOf('o')).toEqual(Float32Array.of(7, 7, 7));
    // The row's address is where the kernels find it: the same floats.
    expect(mem.f32(a.address(7), 3)).toEqual(Float32Array.of(7, -7, 3.5));
    const b = new ParamArena(new WasmArena(), 2, (_k, row) => row.fill(0));
    b.load(a.part());
    expect(b.keys).toEqual(keys);
    expect(b.copyOf('k299')).toEqual(Float32Array.of(299, -299, 149.5));
  });
});

describe('user and title actors hold their rows', () => {
  it('params - a snapshot writes the actor\'s row in every version and its training history; another node restores both', async () => {
    const store = memorySnapshotStore();
    const clock = new ManualClock();
    const p1 = new NodeParams();
    const gone = ended(Kind.User, 'u1', 'passivated');
    const a = await node(p1, { store, clock, idlePassivateMs: 1_000, onEvent: gone.onEvent });
    await a.ask(Kind.User, 'u1', 'interaction', ev());
    await a.ask(Kind.User, 'u1', 'interaction', ev({ titleId: 't2', type: 'PLAY', value: 0.5 }));
    const shard = shardOf(Kind.User, 'u1', 8);
    expect(p1.historyTitles(shard, 'u1')).toEqual(['t1', 't2']);
    expect([...p1.usersOf(shard).get('u1')!.values]).toEqual([4, NaN]);
    const row = p1.version('v1', shape).arena(Kind.User, shard).view(p1.version('v1', shape).arena(Kind.User, shard).row('u1'));
    row.set([1, 2, 3, 4, 5]);
    clock.advance(1_001);
    expect(a.sweepIdle()).toBe(1);
    await gone.done;
    expect(p1.usersOf(shard).has('u1')).toBe(false);
    await a.stop();

    const p2 = new NodeParams();
    const b = await node(p2, { store });
    await b.ask(Kind.User, 'u1', 'summary');
    expect(p2.historyTitles(shard, 'u1')).toEqual(['t1', 't2']);
    expect([...p2.usersOf(shard).get('u1')!.values]).toEqual([4, NaN]);
    expect(p2.existingVersion('v1')?.existing(Kind.User, shard)?.copyOf('u1')).toEqual(Float32Array.of(1, 2, 3, 4, 5));
    await b.stop();
  });

  it('params - while a job pins the node, idle actors stay active; unpinned, they passivate', async () => {
    const clock = new ManualClock();
    const params = new NodeParams();
    const sys = await node(params, { clock, idlePassivateMs: 1_000, maxActiveActors: 2 });
    params.pin();
    for (const k of ['u1', 'u2', 'u3', 'u4']) await sys.ask(Kind.User, k, 'interaction', ev({ userId: k }));
    await sys.ask(Kind.Title, 't1', 'summary');
    clock.advance(5_000);
    expect(sys.sweepIdle()).toBe(0);
    for (const k of ['u1', 'u2', 'u3', 'u4']) expect(sys.isActive(Kind.User, k)).toBe(true);
    params.unpin();
    expect(sys.sweepIdle()).toBe(5);
    await sys.stop();
  });
});

/** One node of 4 shards with reel's actors and its part in training, on the in-process transport. */
async function trainingNode() {
  const params = new NodeParams();
  const sys = new ActorSystem({ nodeId: 'solo', shardCount: 4 });
  registerReelActors(sys, params);
  const training = new NodeTraining(sys, { params, registry: new MemoryModelRegistry(), blobs: new MemoryBlobStore(), directory: { ownerOf: () => 'solo' } });
  await sys.start();
  return { params, sys, training };
}

/** More ratings than two compute slices, over 2,000 users (on the shard `shardOf` gives) and 1,500 titles, and an MF spec of 8 factors. */
function slicedData(shardOf: (u: number) => number) {
  const titles = new TitleInterner();
  const rows = 2 * COMPUTE_SLICE_ROWS + 1_000;
  const users: LocalUser[] = Array.from({ length: 2_000 }, (_, u) => ({ shard: shardOf(u), key: `u${u}`, history: new UserHistory() }));
  for (let j = 0; j < rows; j++) users[j % users.length]!.history.push(titles.index(`t${(j * 7919) % 1_500}`), 1 + (j % 5));
  const spec = { version: 'v', model: 'mf', factors: 8, epochs: 1, lr: 0.01, lrDecay: 1, regFactor: 0.02, regBias: 0.01, initStd: 0.1, seed: 1, clocksPerEpoch: 1, consistency: { kind: 'bsp' }, validationFraction: 0, workerTimeoutMs: 1_000, keepCheckpoints: 1, kernel: 'wasm', negatives: 'uniform', popularityExponent: 0 } as const;
  return { titles, rows, users, spec };
}

describe('training views of histories', () => {
  it('history - holds title indices and ratings in typed arrays, grows, and round-trips through its stored form on another node', () => {
    const a = new TitleInterner();
    const h = new UserHistory(1);
    for (let j = 0; j < 100; j++) h.push(a.index(`t${j % 7}`), j % 3 === 0 ? NaN : j / 10);
    expect(h.length).toBe(100);
    expect(a.size).toBe(7);
    const stored = h.stored(a);
    expect(stored.titles.slice(0, 8)).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't0']);
    // Another node interns in another order: the keys, not the indices, travel.
    const b = new TitleInterner();
    b.index('t6');
    const back = UserHistory.fromStored(stored, b);
    expect(Array.from(back.titles, (i) => b.key(i))).toEqual(stored.titles);
    expect([...back.values]).toEqual([...h.values]);
    expect(a.hash(a.index('t3'))).toBe(b.hash(b.index('t3')));
  });

  it('localData - a long read lets the event loop turn (lease renewals, heartbeats) and counts what trains', async () => {
    const titles = new TitleInterner();
    const users: LocalUser[] = Array.from({ length: 50 }, (_, u) => {
      const history = new UserHistory();
      for (let j = 0; j < 20; j++) history.push(titles.index(`t${(u + j) % 30}`), j % 4 === 0 ? NaN : 3);
      return { shard: 0, key: `u${u}`, history };
    });
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const base = { version: 'v', model: 'mf', factors: 4, epochs: 1, lr: 0.01, lrDecay: 1, regFactor: 0, regBias: 0, initStd: 0.1, seed: 1, clocksPerEpoch: 1, consistency: { kind: 'bsp' }, validationFraction: 0, workerTimeoutMs: 1_000, keepCheckpoints: 1, kernel: 'ts', negatives: 'uniform', popularityExponent: 0 } as const;
    const d = await localData(base, users, titles, new Yielder(0));
    running = false;
    expect(turns).toBeGreaterThanOrEqual(users.length - 1);
    expect(d.count).toBe(50 * 15);
    expect(d.sum).toBe(50 * 15 * 3);
    // BPR trains on every interaction; a held-out share leaves the rest.
    const all = await localData({ ...base, model: 'bpr' }, users, titles);
    expect(all.count).toBe(1000);
    const held = await localData({ ...base, model: 'bpr', validationFraction: 0.25 }, users, titles);
    expect(held.count).toBeGreaterThan(650);
    expect(held.count).toBeLessThan(850);
    // The data's fingerprint is of the data, whatever part is held out.
    expect(held.hash).toBe(all.hash);
    expect(all.hash).not.toBe(d.hash);
  });

  it('push - a resend packed with other pieces applies each piece once; a push that does not add up is refused whole', async () => {
    const { params, sys, training } = await trainingNode();
    try {
      const v = params.version('v', { factors: 1, seed: 1, initStd: 0 });
      training.setReady('v', 1, [0, 1, 2, 3]);
      const keys = ['a', 'b', 'c'];
      for (const k of keys) v.arena(Kind.Title, shardOf(Kind.Title, k, 4)).set(k, Float32Array.of(0, 0));
      const push = (pieces: Array<[number, number]>, ks: string[], deltas: number[]) =>
        sys.askNode('solo', NodeMsg.Push, { version: 'v', attempt: 1, worker: 'w', clock: 0, pieces, keys: ks, deltas: Float32Array.from(deltas) } satisfies PushBody);
      const row = (k: string) => [...v.arena(Kind.Title, shardOf(Kind.Title, k, 4)).copyOf(k)!];
      await push([[1, 1]], ['a'], [1, 10]);
      // Piece 1 again (its answer was lost, say), now beside piece 2: only piece 2 applies.
      await push([[1, 1], [2, 2]], ['a', 'b', 'c'], [1, 10, 2, 20, 3, 30]);
      await push([[2, 2]], ['b', 'c'], [2, 20, 3, 30]);
      expect(row('a')).toEqual([1, 10]);
      expect(row('b')).toEqual([2, 20]);
      expect(row('c')).toEqual([3, 30]);
      await expect(push([[3, 2]], ['a'], [5, 5])).rejects.toThrow(/pieces/);
      expect(row('a')).toEqual([1, 10]);
      // Another clock is another push.
      await sys.askNode('solo', NodeMsg.Push, { version: 'v', attempt: 1, worker: 'w', clock: 1, pieces: [[1, 1]], keys: ['a'], deltas: Float32Array.of(1, 1) } satisfies PushBody);
      expect(row('a')).toEqual([2, 11]);
    } finally {
      training.stopAll();
      await sys.stop();
    }
  });

  it('push - with AdaGrad a title coordinate moves step · delta / √(Σ delta²): the first push by ±step, later ones less', async () => {
    const { params, sys, training } = await trainingNode();
    try {
      const v = params.version('v', { factors: 1, seed: 1, initStd: 0 });
      training.setReady('v', 1, [0, 1, 2, 3], { titleUpdate: 'adagrad', adagradStep: 0.5 });
      const a = v.arena(Kind.Title, shardOf(Kind.Title, 'a', 4));
      a.set('a', Float32Array.of(1, 0));
      const push = (clock: number, deltas: number[]) => sys.askNode('solo', NodeMsg.Push, { version: 'v', attempt: 1, worker: 'w', clock, keys: ['a'], deltas: Float32Array.from(deltas) } satisfies PushBody);
      await push(0, [0.2, -4]);
      expect([...a.copyOf('a')!]).toEqual([1.5, -0.5]);
      await push(1, [0.15, 0]);
      // 0.5 × 0.15 / √(0.2² + 0.15²) = 0.3; an untouched coordinate stays.
      const r = a.copyOf('a')!;
      expect(r[0]).toBeCloseTo(1.8, 6);
      expect(r[1]).toBe(-0.5);
      // A new attempt starts the sums again.
      training.setReady('v', 2, [0, 1, 2, 3], { titleUpdate: 'adagrad', adagradStep: 0.5 });
      await sys.askNode('solo', NodeMsg.Push, { version: 'v', attempt: 2, worker: 'w', clock: 0, keys: ['a'], deltas: Float32Array.of(0.01, 0) } satisfies PushBody);
      expect(a.copyOf('a')![0]).toBeCloseTo(2.3, 6);
    } finally {
      training.stopAll();
      await sys.stop();
    }
  });

  it('clock - the kernel trains the users\' rows in their shard arenas in place; an arena that grows between slices moves its rows and training goes on, the same numbers', async () => {
    const { titles, rows, users, spec } = slicedData((u) => u % 2);
    const run = async (grow: boolean) => {
      const data = await localData(spec, users, titles);
      const v = new VersionParams('v', { factors: 8, seed: 1, initStd: 0.1 });
      const t = await MfTrainer.create(spec, data, v, 3, 5);
      t.titleRows().fill(0.1);
      const before = v.arena(Kind.User, 0).copyOf('u0')!;
      t.beginEpoch();
      const stats = { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };
      const moves = v.moves;
      // In the first turn between slices, 600 new users of shard 0 get rows: its arena (1,024 rows) moves.
      if (grow) setImmediate(() => { for (let n = 0; n < 600; n++) v.arena(Kind.User, 0).row(`new${n}`); });
      await t.clock(0, 1, 0.01, stats, new Yielder(0));
      const after = (key: string, shard: number) => [...v.arena(Kind.User, shard).copyOf(key)!];
      const out = { moved: v.moves - moves, before, u0: after('u0', 0), u1: after('u1', 1), u1998: after('u1998', 0), q: t.titleRows().slice(), loss: stats.loss };
      t.release();
      return out;
    };
    const grown = await run(true);
    const still = await run(false);
    expect(grown.moved).toBeGreaterThan(0);
    expect(still.moved).toBe(0);
    // Trained where it lives: no copy back was made, and the arena's row changed.
    expect(still.u0).not.toEqual([...still.before]);
    expect(grown.u0).toEqual(still.u0);
    expect(grown.u1).toEqual(still.u1);
    expect(grown.u1998).toEqual(still.u1998);
    expect(grown.q).toEqual(still.q);
    expect(grown.loss).toBe(still.loss);
  });

  it('trainer - --kernel ts trains the same rows in place as the WebAssembly kernel (MF and BPR)', async () => {
    const titles = new TitleInterner();
    const users: LocalUser[] = Array.from({ length: 300 }, (_, u) => ({ shard: u % 3, key: `u${u}`, history: new UserHistory() }));
    for (let j = 0; j < 6_000; j++) users[j % 300]!.history.push(titles.index(`t${(j * 7919) % 200}`), 1 + (j % 5));
    const catalog = Array.from({ length: 200 }, (_, i) => `t${i}`).sort();
    const run = async (model: 'mf' | 'bpr', kernel: 'ts' | 'wasm') => {
      const spec = { version: 'v', model, factors: 7, epochs: 1, lr: 0.05, lrDecay: 1, regFactor: 0.02, regBias: 0.01, initStd: 0.1, seed: 1, clocksPerEpoch: 1, consistency: { kind: 'bsp' }, validationFraction: 0.1, workerTimeoutMs: 1_000, keepCheckpoints: 1, kernel, negatives: 'uniform', popularityExponent: 0 } as const;
      const data = await localData(spec, users, titles);
      const v = new VersionParams('v', { factors: 7, seed: 1, initStd: 0.1 });
      const t = model === 'mf' ? await MfTrainer.create(spec, data, v, 3, 5) : await BprTrainer.create(spec, data, v, catalog, 5);
      const q = t.titleRows();
      for (let i = 0; i < q.length; i++) q[i] = Math.sin(i) * 0.1;
      const stats = { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };
      t.beginEpoch();
      await t.clock(0, 1, 0.05, stats, new Yielder());
      t.validate(stats);
      const rows = users.map((u) => [...v.arena(Kind.User, u.shard).copyOf(u.key)!]).flat();
      return { rows, q: [...t.titleRows()], loss: stats.loss, n: stats.n, validation: stats.validationSum / stats.validationN };
    };
    for (const model of ['mf', 'bpr'] as const) {
      const [ts, wasm] = [await run(model, 'ts'), await run(model, 'wasm')];
      expect(ts.n).toBe(wasm.n);
      expect(ts.n).toBeGreaterThan(4_000);
      expect(Math.abs(ts.loss - wasm.loss) / wasm.loss).toBeLessThan(1e-4);
      expect(ts.validation).toBeCloseTo(wasm.validation, 4);
      const diff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
      expect(diff(ts.rows, wasm.rows), model).toBeLessThan(1e-4);
      expect(diff(ts.q, wasm.q), model).toBeLessThan(1e-4);
    }
  });

  it('arena - a version compacts into a fresh memory once a trainer\'s arrays are given back, its rows unchanged', async () => {
    const titles = new TitleInterner();
    const users: LocalUser[] = Array.from({ length: 100 }, (_, u) => ({ shard: 0, key: `u${u}`, history: new UserHistory() }));
    for (let j = 0; j < 1_200_000; j++) users[j % 100]!.history.push(titles.index(`t${j % 300}`), 1 + (j % 5));
    const spec = { version: 'v', model: 'mf', factors: 8, epochs: 1, lr: 0.01, lrDecay: 1, regFactor: 0.02, regBias: 0.01, initStd: 0.1, seed: 1, clocksPerEpoch: 1, consistency: { kind: 'bsp' }, validationFraction: 0, workerTimeoutMs: 1_000, keepCheckpoints: 1, kernel: 'wasm', negatives: 'uniform', popularityExponent: 0 } as const;
    const v = new VersionParams('v', { factors: 8, seed: 1, initStd: 0.1 });
    v.arena(Kind.Title, 3).row('x');
    const t = await MfTrainer.create(spec, await localData(spec, users, titles), v, 3, 5);
    t.beginEpoch();
    await t.clock(0, 1, 0.01, { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 }, new Yielder());
    const rowsBefore = users.map((u) => [...v.arena(Kind.User, 0).copyOf(u.key)!]);
    const x = [...v.arena(Kind.Title, 3).copyOf('x')!];
    const big = v.memory.memoryBytes;
    expect(v.compact()).toBe(false); // the trainer's ratings are still live
    t.release();
    expect(v.compact()).toBe(true);
    expect(v.memory.memoryBytes).toBeLessThan(big / 2);
    expect(users.map((u) => [...v.arena(Kind.User, 0).copyOf(u.key)!])).toEqual(rowsBefore);
    expect([...v.arena(Kind.Title, 3).copyOf('x')!]).toEqual(x);
    expect(v.compact()).toBe(false);
  });

  it('clock - a clock of more rows than a compute slice lets the event loop turn between slices, and slicing changes no number', async () => {
    const { titles, rows, users, spec } = slicedData((u) => 0);
    const run = async (y: Yielder) => {
      const data = await localData(spec, users, titles);
      const v = new VersionParams('v', { factors: 8, seed: 1, initStd: 0.1 });
      const t = await MfTrainer.create(spec, data, v, 3, 5);
      t.titleRows().fill(0.1);
      t.beginEpoch();
      const stats = { loss: 0, n: 0, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };
      let turns = 0;
      let on = true;
      const tick = () => void (on && (turns++, setImmediate(tick)));
      setImmediate(tick);
      await t.clock(0, 1, 0.01, stats, y);
      on = false;
      return { loss: stats.loss, n: stats.n, q: t.titleRows().slice(), turns };
    };
    const sliced = await run(new Yielder(0));
    const whole = await run(new Yielder(Infinity));
    expect(sliced.n).toBe(rows);
    expect(sliced.turns).toBeGreaterThanOrEqual(2);
    expect(whole.turns).toBe(0);
    expect(sliced.loss).toBeCloseTo(whole.loss, 3);
    expect(sliced.q).toEqual(whole.q);
  });
});

