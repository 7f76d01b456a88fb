import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../runtime/index.js';
import { DEFAULT_GONE_MEMBER_REMOVAL_MS, parseClusterNodeOptions } from './options.js';

describe('cluster node options', () => {
  it('options - on a NATS cluster the lease and heartbeat window default to 10 s (past a JetStream leader election); given values win, on one server too', () => {
    const one = parseClusterNodeOptions({});
    expect([one.timings.leaseMs, one.timings.heartbeatWindowMs]).toEqual([3_000, 3_000]);
    const cluster = parseClusterNodeOptions({}, { natsCluster: true });
    expect([cluster.timings.leaseMs, cluster.timings.heartbeatWindowMs, cluster.timings.renewMs]).toEqual([10_000, 10_000, 1_000]);
    const given = parseClusterNodeOptions({ leaseMs: 2_000, heartbeatWindowMs: 1_500, heartbeatMs: 250 }, { natsCluster: true });
    expect([given.timings.leaseMs, given.timings.heartbeatWindowMs]).toEqual([2_000, 1_500]);
  });

  it('options - a gone member is removed after 10 minutes by default; goneMemberRemovalMs must exceed the heartbeat window', () => {
    expect(DEFAULT_GONE_MEMBER_REMOVAL_MS).toBe(600_000);
    expect(parseClusterNodeOptions({}).goneMemberRemovalMs).toBe(600_000);
    expect(parseClusterNodeOptions({ goneMemberRemovalMs: 5_000, heartbeatWindowMs: 1_500, heartbeatMs: 250 }).goneMemberRemovalMs).toBe(5_000);
    for (const bad of [0, 1.5, -1, 3_000]) {
      let err: unknown;
      try {
        parseClusterNodeOptions({ goneMemberRemovalMs: bad, heartbeatWindowMs: 3_000 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as InvalidArgument).fields).toEqual(['goneMemberRemovalMs']);
      expect((err as Error).message).toMatch(/goneMemberRemovalMs must be an integer above heartbeatWindowMs/);
    }
  });
});
