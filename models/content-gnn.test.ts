import { beforeAll, describe, expect, it } from 'vitest';
import { plantedInteractions } from '../test/harness/planted-interactions.js';
import { coldStartSplit, evaluateColdStart, randomColdScorer, type ColdTitle } from './cold-start.js';
import { contentColdScorer, titleEmbeddings, trainContentGnn, type ContentGnnModel } from './content-gnn.js';
import { extendedWidth } from './content-rows.js';
import { parseColdMix, parseContentGnnHyperparameters } from './content-gnn-options.js';
import { NonFiniteEmbedding } from './errors.js';
import { RatingsTableBuilder } from './ratings.js';
import { loadTf, type Tf } from './tf.js';
import { genreYearFeatures, TitleFeaturesBuilder } from './title-features.js';

const GROUPS = 4;
const ITEMS = 80;
/** Planted data: item i belongs to group ⌊i / 20⌋, which is also its only genre; users of group g take 90 % of their titles from it. */
const titles: ColdTitle[] = Array.from({ length: ITEMS }, (_, i) => ({ id: `i${i}`, genres: [`g${Math.floor(i / (ITEMS / GROUPS))}`], year: 1990 + (i % 7) }));
const features = genreYearFeatures(titles);
const hp = { graph: { factors: 16, layers: 2, lr: 0.01, batchSize: 256 }, hidden: 16, encoderLr: 0.01 };

let tf: Tf;
let split: ReturnType<typeof coldStartSplit>;
let model: ContentGnnModel;
const rounds: number[] = [];

beforeAll(async () => {
  tf = (await loadTf({ backends: ['wasm'] })).tf;
  const all = plantedInteractions(200, ITEMS, 15, 9, GROUPS);
  const interactions = Array.from(all.users, (u, j) => ({ user: all.userIds.idOf(u), item: all.itemIds.idOf(all.items[j]!) }));
  split = coldStartSplit(titles, interactions, { seed: 4, fraction: 0.2 });
  const b = new RatingsTableBuilder();
  for (const it of split.train) b.add(it.user, it.item, 1);
  model = await trainContentGnn(b.build(), features, hp, { epochs: 30, seed: 2, tf, kernel: 'ts', onRound: (r) => void rounds.push(r.encoderLoss) });
});

describe('content gnn', () => {
  it('content gnn - on data where genre decides taste, held-out titles ranked by the content model beat random by far', () => {
    const cold = titleEmbeddings(model, split.heldOut.map((t) => t.id), features, { alpha: 0.5 });
    const content = evaluateColdStart(split, contentColdScorer(model, split.users, cold, { popularityWeight: 0 }), 5);
    const random = evaluateColdStart(split, randomColdScorer(1), 5);
    // 16 held-out titles, about 4 of each genre: a user's own genre fills most of the top 5.
    expect(content.recall).toBeGreaterThan(2 * random.recall);
    expect(content.ndcg).toBeGreaterThan(2 * random.ndcg);
    // An encoder round after every epoch, each warm-started: its loss falls.
    expect(rounds).toHaveLength(30);
    expect(rounds[29]!).toBeLessThan(rounds[0]!);
  });

  it('content gnn - a title with neither features nor interactions gets the finite popularity prior; a warm one its own row', () => {
    const [none, warm] = [titleEmbeddings(model, ['never-seen'], features), titleEmbeddings(model, [split.train[0]!.item], features)];
    expect(Array.from(none)).toEqual(Array.from(model.prior));
    expect(none.every(Number.isFinite)).toBe(true);
    const k = model.graph.factors;
    const item = model.itemIds.get(split.train[0]!.item)!;
    expect(Array.from(warm.subarray(0, k))).toEqual(Array.from(model.graph.final.subarray((model.graph.users + item) * k, (model.graph.users + item + 1) * k)));
    expect(warm[k]).toBe(model.popularity[item]);
    // Features no warm title has carry nothing learned: the prior too.
    const unknown = new TitleFeaturesBuilder().add('new', 'tag:never-used').build();
    expect(Array.from(titleEmbeddings(model, ['new'], unknown))).toEqual(Array.from(model.prior));
  });

  it('content gnn - a cold row that is not finite is refused naming the title', () => {
    const broken = { ...model, encoderWeights: model.encoderWeights.map(() => Number.NaN) };
    expect(() => titleEmbeddings(broken, [split.heldOut[0]!.id], features)).toThrow(NonFiniteEmbedding);
    expect(() => titleEmbeddings(broken, [split.heldOut[0]!.id], features)).toThrow(new RegExp(`'${split.heldOut[0]!.id}'`));
    expect(titleEmbeddings(broken, ['never-seen'], features)).toHaveLength(extendedWidth(model.graph.factors));
  });

  it('content gnn - a user the graph never saw is scored with the mean user row', () => {
    const cold = titleEmbeddings(model, split.heldOut.map((t) => t.id), features);
    const out = new Float32Array(split.heldOut.length);
    contentColdScorer(model, ['nobody'], cold)(0, out);
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it('content gnn - bad hyperparameters and mixes are refused naming them', () => {
    expect(() => parseContentGnnHyperparameters({ hidden: 0, encoderLr: -1 })).toThrow(/hidden, encoderLr/);
    expect(() => parseContentGnnHyperparameters({ graph: { layers: -1 } })).toThrow(/layers/);
    expect(() => parseColdMix({ alpha: 1.5 })).toThrow(/alpha/);
  });
});
