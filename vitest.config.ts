import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '.scratch/**'],
    // Integration files start real processes and a real nats-server: on two cores
    // they run one after another so that timing-sensitive ones are not starved.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
