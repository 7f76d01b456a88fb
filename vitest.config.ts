import { defineConfig } from 'vitest/config';

// Files that start a nats-server or real processes. They run one after another,
// after the unit files, so that the timing-sensitive ones are not starved on two cores.
const integration = [
  'test/**/*.test.ts',
  'runtime/batch-ask.test.ts',
  'runtime/snapshot-store-kv.test.ts',
  'runtime/transport-nats.test.ts',
  'cluster/cluster-view.test.ts',
  'cluster/config.test.ts',
  'cluster/node-store-connection.test.ts',
  'cluster/ownership-faults.test.ts',
  'cluster/interaction-stream.test.ts',
];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**', '.scratch/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        // In-process files: no broker, no child process, clocks injected. Side by side.
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: integration,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: integration,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
