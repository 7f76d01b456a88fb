import { describe, expect, it } from 'vitest';
import { testActorFactory } from '../test/fixtures/actors.js';
import { newEnvelope } from './envelope.js';
import { NoRoute } from './errors.js';
import { shardOf } from './shard.js';
import { ActorSystem } from './system.js';

describe('system deliver', () => {
  it('system deliver - a message whose shard disagrees with its address is refused, active actor or not', async () => {
    await using system = new ActorSystem({ nodeId: 'n1', shardCount: 16 });
    system.register('test', testActorFactory);
    await system.start();
    const right = shardOf('test', 'k', 16);
    const wrong = (right + 1) % 16;
    const notOthers = (shardOf('test', 'other', 16) + 1) % 16;
    expect(system.deliver(newEnvelope('m1', 'test', 'other', notOthers, 0, 'incr', 0, '', undefined))).toBeInstanceOf(NoRoute);
    expect(await system.ask('test', 'k', 'incr')).toBe(1);
    expect(system.isActive('test', 'k')).toBe(true);
    expect(system.deliver(newEnvelope('m2', 'test', 'k', wrong, 0, 'incr', 0, '', undefined))).toBeInstanceOf(NoRoute);
    expect(system.deliver(newEnvelope('m3', 'test', 'k', right, 0, 'incr', 0, '', undefined))).toBeUndefined();
    expect(await system.ask('test', 'k', 'get')).toBe(2);
  });
});
