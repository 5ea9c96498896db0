import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Two cores: run files two at a time so servers started by tests do not starve each other.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
