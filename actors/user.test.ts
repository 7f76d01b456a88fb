import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../runtime/index.js';
import { Kind, registerReelActors, UserMsg, type InteractionBody, type UserSummary } from './index.js';

const ev = (titleId: string, t: number, value = 4): InteractionBody => ({ eventId: `e-${titleId}-${t}`, userId: 'u1', titleId, type: 'RATING', value, eventTimeMs: t });

describe('user actor', () => {
  it('user - history is in event-time order, bounded, and counters add up', async () => {
    const system = await registerReelActors(new ActorSystem({ nodeId: 'u' })).start();
    system.tell(Kind.User, 'u1', UserMsg.Interaction, ev('a', 3000, 5));
    system.tell(Kind.User, 'u1', UserMsg.Interaction, ev('b', 1000, 3));
    system.tell(Kind.User, 'u1', UserMsg.Interaction, ev('c', 2000, 4));
    const s = await system.ask<UserSummary>(Kind.User, 'u1', UserMsg.Summary);
    expect(s.recentTitleIds).toEqual(['a', 'c', 'b']);
    expect(s.interactionCount).toBe(3);
    expect(s.meanRating).toBe(4);
    expect(s.updateTimeMs).toBe(3000);
    for (let i = 0; i < 150; i++) system.tell(Kind.User, 'u1', UserMsg.Interaction, ev(`t${i}`, 10_000 + i));
    const s2 = await system.ask<UserSummary>(Kind.User, 'u1', UserMsg.Summary);
    expect(s2.recentTitleIds).toHaveLength(100);
    expect(s2.recentTitleIds[0]).toBe('t149');
    await system.stop();
  });
});
