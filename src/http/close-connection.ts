/**
 * `Connection: close` where the protocol has it. HTTP/2 forbids connection-specific headers
 * (RFC 9113 §8.2.2; node throws on them): there each request is its own stream, so an unread
 * body ends with its stream and the connection carries on; a drain sends GOAWAY instead
 * (src/http/tls-listener.ts).
 */
import type { ServerResponse } from 'node:http';

/** Asks the client to close the connection after this response (HTTP/1.x only). */
export function closeConnectionAfter(res: ServerResponse): void {
  if ((res as ServerResponse & { stream?: unknown }).stream === undefined) res.setHeader('Connection', 'close');
}
