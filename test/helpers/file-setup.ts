/**
 * Runs before every test file, also when files share a worker process (vitest.config.ts): what a
 * file changed process-wide and failed to restore does not reach the next file. Fake timers are
 * put back to real ones, and the environment variables to what they were when the file started.
 */
import { afterAll, vi } from 'vitest';

const env = { ...process.env };

afterAll(() => {
  vi.useRealTimers();
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  Object.assign(process.env, env);
});
