import { defineConfig } from 'vitest/config';

/** `npm run test:prod`: fault tests on the production topology (the real Temporal server; minutes). */
export default defineConfig({
  test: {
    include: ['test-prod/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
