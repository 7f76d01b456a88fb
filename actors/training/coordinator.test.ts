import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import { MemoryBlobStore, MemoryModelRegistry } from './memory-stores.js';
import { JobMsg, type ClockStats, type PollAnswer } from './messages.js';
import { NodeParams } from './node-params.js';
import { NodeTraining } from './node-training.js';
import type { Consistency, TrainSpec } from './spec.js';

const S = 4;
const stats: ClockStats = { loss: 1, n: 1, validationSum: 0, validationN: 0, compute: 0, encode: 0, nats: 0, wait: 0 };

function spec(consistency: Consistency): TrainSpec {
  return {
    version: 'v', model: 'mf', factors: 2, epochs: 3, lr: 0.01, lrDecay: 1, regFactor: 0, regBias: 0, initStd: 0.1, seed: 1, clocksPerEpoch: 4, consistency,
    validationFraction: 0, workerTimeoutMs: 60_000, keepCheckpoints: 1, kernel: 'ts', negatives: 'uniform', popularityExponent: 0,
  };
}

/** A coordinator with workers a (shards 0, 1) and b (shards 2, 3), both ready. */
async function coordinator(consistency: Consistency) {
  const system = new ActorSystem({ nodeId: 'c', shardCount: S });
  new NodeTraining(system, { params: new NodeParams(), registry: new MemoryModelRegistry(), blobs: new MemoryBlobStore(), directory: { ownerOf: () => 'c' } });
  await system.start();
  const ask = <R>(type: string, body: unknown) => system.ask<R>(Kind.TrainJob, 'v', type, body);
  await ask(JobMsg.Start, { spec: spec(consistency), workers: ['a', 'b'] });
  for (const [node, shards] of [['a', [0, 1]], ['b', [2, 3]]] as const) await ask(JobMsg.Ready, { node, attempt: 1, shards, ratings: 1, dataHash: 0, mean: 3 });
  const open = async (node: string, clock: number) => (await ask<PollAnswer>(JobMsg.Poll, { node, attempt: 1, clock })).open;
  const done = (node: string, clock: number) => ask(JobMsg.Done, { node, attempt: 1, clock, stats });
  return { system, open, done };
}

describe('training coordinator barriers', () => {
  it('coordinator - BSP: a clock opens only once every worker has finished the one before', async () => {
    const c = await coordinator({ kind: 'bsp' });
    expect(await c.open('a', 0)).toBe(true);
    await c.done('a', 0);
    expect(await c.open('a', 1)).toBe(false);
    await c.done('b', 0);
    expect(await c.open('a', 1)).toBe(true);
    await c.system.stop();
  });

  it('coordinator - SSP:1: a worker may run one clock ahead of the slowest, not two', async () => {
    const c = await coordinator({ kind: 'ssp', staleness: 1 });
    await c.done('a', 0);
    expect(await c.open('a', 1)).toBe(true);
    await c.done('a', 1);
    expect(await c.open('a', 2)).toBe(false);
    await c.done('b', 0);
    expect(await c.open('a', 2)).toBe(true);
    await c.system.stop();
  });

  it('coordinator - a new epoch waits until every shard\'s rows of the last one are copied for the checkpoint', async () => {
    const c = await coordinator({ kind: 'ssp', staleness: 8 });
    for (const n of ['a', 'b']) for (let k = 0; k < 4; k++) await c.done(n, k);
    expect(await c.open('a', 4)).toBe(false);
    await c.system.ask(Kind.TrainJob, 'v', JobMsg.Checkpointed, { node: 'a', attempt: 1, epoch: 0, shards: [0, 1], written: false, seconds: 0 });
    expect(await c.open('a', 4)).toBe(false);
    await c.system.ask(Kind.TrainJob, 'v', JobMsg.Checkpointed, { node: 'b', attempt: 1, epoch: 0, shards: [2, 3], written: false, seconds: 0 });
    expect(await c.open('a', 4)).toBe(true);
    await c.system.stop();
  });
});
