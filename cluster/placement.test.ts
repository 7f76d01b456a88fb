import { describe, expect, it } from 'vitest';
import { assignShards, decodePlacement, encodePlacement, placeShards, quotas, type PlacementNode } from './placement.js';

const nodes = (ids: string[], w = 1): PlacementNode[] => ids.map((id) => ({ id, weight: w }));
const ids = (n: number, tag = 'node') => Array.from({ length: n }, (_, i) => `${tag}-${i + 1}`);
const counts = (table: readonly string[]) => {
  const m = new Map<string, number>();
  for (const id of table) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
};
const moved = (a: readonly string[], b: readonly string[]) => a.filter((id, s) => id !== b[s]).length;
const share = (S: number, ns: readonly PlacementNode[], id: string) => (S * ns.find((n) => n.id === id)!.weight) / ns.reduce((t, n) => t + n.weight, 0);
/** Weights 1–4, varied by position (unequal capacities). */
const unequal = (xs: string[]): PlacementNode[] => xs.map((id, i) => ({ id, weight: 1 + ((i * 7 + 3) % 4) }));

/** Every node holds its share rounded (equal weights) or within one shard of it (any weights). */
function expectBalanced(S: number, ns: readonly PlacementNode[], table: readonly string[]) {
  expect(table.every((id) => id !== '')).toBe(true);
  const c = counts(table);
  const equal = ns.every((n) => n.weight === ns[0]!.weight);
  for (const n of ns) {
    const got = c.get(n.id) ?? 0;
    const want = share(S, ns, n.id);
    if (equal) expect([Math.floor(want), Math.ceil(want)], `${n.id} of ${ns.length}`).toContain(got);
    else expect(Math.abs(got - want), `${n.id}: ${got} vs share ${want.toFixed(2)}`).toBeLessThan(1);
  }
}

describe('placement with bounded loads', () => {
  it('placement - is deterministic whatever order the nodes come in, and covers every shard', () => {
    const a = placeShards(128, nodes(['a', 'b', 'c']));
    const b = placeShards(128, nodes(['c', 'a', 'b']));
    expect(a).toEqual(b);
    expect(a.every((id) => id !== '')).toBe(true);
  });

  it('placement - three equal nodes own 42 or 43 of 128 shards, four own 32 each (plain rendezvous gave 31/48/49 and 47/37/24/20)', () => {
    expect([...counts(placeShards(128, nodes(ids(3)))).values()].sort()).toEqual([42, 43, 43]);
    expect([...counts(placeShards(128, nodes(ids(4)))).values()]).toEqual([32, 32, 32, 32]);
  });

  for (const weights of ['equal', 'unequal'] as const) {
    const make = (xs: string[]) => (weights === 'equal' ? nodes(xs) : unequal(xs));

    it(`placement - ${weights} weights, 1–16 nodes, 128 and 1000 shards: every node near its share; a join moves at most the joiner's share + 2, a leave only the leaver's shards + 2`, () => {
      for (const S of [128, 1000]) {
        let table: string[] = [];
        const all = ids(16);
        for (let n = 1; n <= 16; n++) {
          const ns = make(all.slice(0, n));
          const next = placeShards(S, ns, table);
          expectBalanced(S, ns, next);
          if (n > 1) {
            const joiner = all[n - 1]!;
            expect(moved(table, next), `join of ${joiner} to ${n - 1}`).toBeLessThanOrEqual(share(S, ns, joiner) + 2);
            // Whatever moved either went to the joiner, or was one of at most two rounding moves.
            expect(next.filter((id, s) => id !== table[s] && id !== joiner).length).toBeLessThanOrEqual(2);
          }
          // Stable: the same inputs give the same table, and nothing moves without a change.
          expect(placeShards(S, ns, next)).toEqual(next);
          table = next;
        }
        for (let n = 16; n > 1; n--) {
          const leaver = all[(n * 5) % n]!; // not always the last one
          const rest = make(all.slice(0, n)).filter((x) => x.id !== leaver);
          const next = placeShards(S, rest, table);
          expectBalanced(S, rest, next);
          const held = table.filter((id) => id === leaver).length;
          expect(moved(table, next), `leave of ${leaver} from ${n}`).toBeLessThanOrEqual(held + 2);
          table = placeShards(S, make(all.slice(0, n - 1)), table);
        }
      }
    });
  }

  it('placement - random joins and leaves of up to 16 nodes, equal and unequal weights: always balanced, every change bounded', () => {
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (const unequalWeights of [false, true]) {
      const pool = ids(24, 'n');
      const weight = new Map(pool.map((id, i) => [id, unequalWeights ? 1 + (i % 3) : 1]));
      let members = pool.slice(0, 3);
      let table: string[] = [];
      for (let step = 0; step < 200; step++) {
        const before = members;
        const join = members.length < 2 || (members.length < 16 && rnd() < 0.5);
        if (join) members = [...members, pool.find((id) => !members.includes(id))!];
        else {
          const out = Math.floor(rnd() * members.length);
          members = members.filter((_, i) => i !== out);
        }
        const ns = members.map((id) => ({ id, weight: weight.get(id)! }));
        const next = placeShards(128, ns, table);
        expectBalanced(128, ns, next);
        if (table.length > 0) {
          const changed = join ? members.find((id) => !before.includes(id))! : before.find((id) => !members.includes(id))!;
          const bound = join ? share(128, ns, changed) + 2 : table.filter((id) => id === changed).length + 2;
          expect(moved(table, next), `step ${step}: ${join ? 'join' : 'leave'} of ${changed}`).toBeLessThanOrEqual(bound);
        }
        table = next;
      }
    }
  });

  it('placement - weights skew the share: 3:1 gives 96 and 32 of 128', () => {
    const c = counts(placeShards(128, [{ id: 'big', weight: 3 }, { id: 'small', weight: 1 }]));
    expect(c.get('big')).toBe(96);
    expect(c.get('small')).toBe(32);
  });

  it('placement - quotas add up to the shard count, and equal fractions keep the extra shard where it is', () => {
    const ns = nodes(['a', 'b', 'c']);
    expect([...quotas(128, ns).values()].reduce((a, b) => a + b)).toBe(128);
    expect(quotas(128, ns, new Map([['c', 43], ['b', 43], ['a', 42]])).get('a')).toBe(42);
    expect(quotas(128, ns, new Map([['a', 43], ['c', 43], ['b', 42]])).get('b')).toBe(42);
  });

  it('placement - overrides win while their node is among the nodes, on top of the table', () => {
    const table = placeShards(8, nodes(['a', 'b']));
    const a = assignShards(8, nodes(['a', 'b']), new Map([[3, table[3] === 'a' ? 'b' : 'a'], [4, 'gone']]), table);
    expect(a.get(3)).not.toBe(table[3]);
    expect(a.get(4)).toBe(table[4]);
    for (const s of [0, 1, 2, 5, 6, 7]) expect(a.get(s)).toBe(table[s]);
  });

  it('placement - no nodes: no shard has an owner', () => {
    expect(placeShards(4, [])).toEqual(['', '', '', '']);
    expect(assignShards(4, []).size).toBe(0);
  });

  it('placement - the stored form round-trips; a value that does not fit the shard count reads as none', () => {
    const ns = nodes(['a', 'b', 'c', 'd']);
    const t = placeShards(3, ns);
    const idle = ns.find((n) => !t.includes(n.id))!.id;
    // A node placement gave no shard (more nodes than shards) is still one it was computed for.
    expect(decodePlacement(JSON.parse(JSON.stringify(encodePlacement(t, ns))), 3)).toEqual({ nodes: ['a', 'b', 'c', 'd'], table: t });
    expect(decodePlacement(encodePlacement(t, ns), 3)!.nodes).toContain(idle);
    expect(decodePlacement(encodePlacement(t, ns), 4)).toBeUndefined();
    expect(decodePlacement({ nodes: ['a'], shards: [0, 1] }, 2)).toBeUndefined();
    expect(decodePlacement('garbage', 2)).toBeUndefined();
    expect(decodePlacement(encodePlacement(['', 'a'], nodes(['a'])), 2)!.table).toEqual(['', 'a']);
  });
});
