import { describe, expect, it } from 'vitest';
import { ActorSystem, Overloaded, type Actor, type Envelope } from '../../runtime/index.js';
import { Kind } from '../kinds.js';
import { runTrainingJob } from './driver.js';
import { MemoryModelRegistry } from './memory-stores.js';
import { JobMsg, type JobStatus } from './messages.js';
import type { TrainSpec } from './spec.js';

const spec: TrainSpec = {
  version: 'v', model: 'mf', factors: 2, epochs: 1, lr: 0.01, lrDecay: 1, regFactor: 0, regBias: 0, initStd: 0.1, seed: 1, clocksPerEpoch: 1, consistency: { kind: 'bsp' },
  validationFraction: 0, workerTimeoutMs: 60_000, keepCheckpoints: 1, kernel: 'ts', negatives: 'uniform', popularityExponent: 0,
};

/**
 * A coordinator whose first `silent` status asks fail as a busy actor's do (Overloaded), then
 * say the job is done. The count lives outside the actor: a failed message restarts it.
 */
class SlowCoordinator implements Actor {
  constructor(private readonly silent: number, private readonly polls: { n: number }) {}
  onActivate(): void {}
  receive(msg: Envelope): unknown {
    if (msg.type === JobMsg.Start) return true;
    if (++this.polls.n <= this.silent) throw new Overloaded('the coordinator is busy');
    return { version: 'v', state: 'done', attempt: 1, workers: ['solo'], epochsDone: 1, epochs: 1, history: [], restarts: [] } satisfies JobStatus;
  }
}

async function run(silent: number, silentMs?: number) {
  const system = new ActorSystem({ nodeId: 'solo', shardCount: 4 });
  const polls = { n: 0 };
  system.register(Kind.TrainJob, () => new SlowCoordinator(silent, polls));
  await system.start();
  const notes: string[] = [];
  try {
    return { status: await runTrainingJob(system, new MemoryModelRegistry(), { ...spec }, { workers: ['solo'], startWorkers: async () => {}, pollMs: 1, silentMs, onSilent: (e) => notes.push(e.message) }), notes };
  } finally {
    await system.stop();
  }
}

describe('following a training job', () => {
  it('driver - status polls that get no answer are sent again, with a note each, until the coordinator answers', async () => {
    const { status, notes } = await run(3);
    expect(status.state).toBe('done');
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(/busy/);
  });

  it('driver - a coordinator silent for longer than silentMs ends the following (not the job) with an error that says so', async () => {
    await expect(run(1_000_000, 0)).rejects.toThrow(/has not answered for 0 s .*the job may go on in the cluster/);
  });
});
