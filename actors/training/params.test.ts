import { describe, expect, it } from 'vitest';
import { ActorSystem, ManualClock, memorySnapshotStore, shardOf, type ActorSystemConfig, type RuntimeEvent } from '../../runtime/index.js';
import { Kind, NodeParams, registerReelActors, type InteractionBody } from '../index.js';
import { initialRow, ParamArena } from './arena.js';

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
    const make = () => new ParamArena(shape.factors, (key, row) => initialRow(shape, 'user', key, row));
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

  it('arena - rows stay put as it grows, and a part round-trips', () => {
    const a = new ParamArena(2, (_k, row) => row.fill(1));
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    for (const [i, k] of keys.entries()) a.set(k, Float32Array.of(i, -i, i / 2));
    expect(a.size).toBe(300);
    expect(a.copyOf('k7')).toEqual(Float32Array.of(7, -7, 3.5));
    const b = new ParamArena(2, (_k, row) => row.fill(0));
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
    expect(p1.usersOf(shard).get('u1')).toEqual({ titles: ['t1', 't2'], values: [4, NaN] });
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
    expect(p2.usersOf(shard).get('u1')).toEqual({ titles: ['t1', 't2'], values: [4, NaN] });
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
