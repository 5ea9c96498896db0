/**
 * What `gateway start` tells an operator before and after it listens: a taken port in one line
 * before anything starts, and, on a terminal, one human line with the URLs worth opening.
 */
import { createServer } from 'node:net';

/** The port `gateway start` would bind cannot be had; the message says which knob moves it. */
export class PortUnavailableError extends Error {
  constructor(port: number, reason: 'in use' | 'not permitted') {
    super(
      reason === 'in use'
        ? `port ${port} is in use; set PORT or server.port (or pass --port)`
        : `port ${port} needs privileges this process lacks; set PORT or server.port (or pass --port) to a port above 1023`,
    );
    this.name = 'PortUnavailableError';
  }
}

/** Turns a listen error into {@link PortUnavailableError} when it is one; anything else is returned as is. */
export function explainListenError(err: unknown, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return new PortUnavailableError(port, 'in use');
  if (code === 'EACCES') return new PortUnavailableError(port, 'not permitted');
  return err;
}

/**
 * Binds `port` on `host` for a moment and lets it go, so a taken port stops the start before
 * demo upstreams, schema composition or workers begin. Port 0 always succeeds.
 */
export function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(explainListenError(err, port)));
    // exclusive: in a cluster primary the probe must not be shared with (or held for) workers.
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export interface ReadyUrls {
  /** Base URL of the main listener, e.g. `http://127.0.0.1:4000`. */
  url: string;
  graphqlPath: string;
  graphiql: boolean;
  /** `server.metricsPort`, when metrics have their own port. */
  metricsPort?: number;
}

/** `gateway ready · GraphQL http://… · GraphiQL http://… (browser) · metrics http://…/metrics`. */
export function formatReadyLine(u: ReadyUrls): string {
  const graphql = `${u.url}${u.graphqlPath}`;
  // The metrics port is plain HTTP even when the main listener has TLS.
  const metricsBase = u.metricsPort !== undefined ? u.url.replace(/^https:/, 'http:').replace(/:\d+$/, `:${u.metricsPort}`) : u.url;
  const parts = [`GraphQL ${graphql}`];
  if (u.graphiql) parts.push(`GraphiQL ${graphql} (open in a browser)`);
  parts.push(`metrics ${metricsBase}/metrics`);
  return `gateway ready · ${parts.join(' · ')}`;
}
