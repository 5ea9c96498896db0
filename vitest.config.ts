import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Files that need a process of their own: they change what is process-wide and cannot be undone
 * (the OpenTelemetry SDK's global registrations and OTEL_* variables), measure the process's
 * heap, which other files' leftovers would blur, or hold the gateway to a deadline within tens of
 * milliseconds, which a collection of the heap a shared process has grown can stretch (seen once:
 * a 250 ms deadline measured as 156 ms at the upstream). Every other file shares its worker process with
 * the files that ran before it there (`isolate: false`): Node and vitest keep the modules they
 * loaded, so a file no longer pays about a second and a half to import the engine and its
 * dependencies again. Such a file must leave nothing process-wide behind: it closes what it
 * starts, restores fake timers and environment variables in `finally`/`afterEach`, and
 * registers no `process` listeners (docs/testing.md).
 */
const OWN_PROCESS = [
  'test/tracing.test.ts',
  'test/security/graphql-documents-memory.test.ts',
  'test/passthrough-streaming.test.ts',
  'test/engine/upstream-errors.test.ts',
  'test/resilience.test.ts',
  'test/security/slow-client.test.ts',
];

export default defineConfig({
  resolve: {
    // graphql ships both index.js (CJS) and index.mjs; Node hands dependencies the CJS build, so
    // the project's own files must get the same one or schemas would cross "realms".
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Two cores: run files two at a time so servers started by tests do not starve each other.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
    // Per file, even in a shared worker: puts back real timers a failed test may have left faked.
    setupFiles: ['test/helpers/file-setup.ts'],
    // `include` is given per project: a project extending the root would add to the root's list.
    projects: [
      { extends: true, test: { name: 'shared', isolate: false, include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...OWN_PROCESS] } },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS } },
    ],
  },
});
