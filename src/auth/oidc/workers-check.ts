/**
 * A memory session store lives in one process. Under `gateway start --workers N` (N > 1) each
 * worker would hold its own: a browser whose login landed on one worker is unknown to the others,
 * so its next request fails there. Start-up refuses that combination (src/cli/start-command.ts),
 * and so does every reload (the primary's check and each worker's generation, src/reload.ts),
 * so a SIGHUP cannot switch a running group to it either.
 */
import type { AuthConfig } from '../../config/schema.js';
import type { ConfigProblem } from '../../config/problem.js';

/** The problem with `auth` for a process group of `workers` processes, or undefined when there is none. */
export function checkSessionStoreWorkers(auth: AuthConfig, workers: number | undefined): ConfigProblem | undefined {
  if (workers === undefined || workers <= 1 || auth.oidc?.session.store !== 'memory') return undefined;
  return {
    path: 'auth.oidc.session.store',
    message: `is memory, which one process holds: with --workers ${workers} a browser's session would live in one worker only. Set auth.oidc.session.store: redis (and the redis section), or run one worker`,
  };
}
