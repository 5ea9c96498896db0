import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships both index.js (CJS) and index.mjs; Node hands dependencies the CJS build, so
    // the project's own files must get the same one or schemas would cross "realms".
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
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
