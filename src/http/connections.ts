/**
 * The open connections of a listening server, for a drain without resets (docs/resilience.md#drain):
 * stop accepting without touching idle keep-alive sockets, ask in-flight HTTP/1 answers to close
 * their connection, and close whatever is left once the drain is over.
 */
import net, { type Server as NetServer, type Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { closeConnectionAfter } from './close-connection.js';

export class Connections {
  readonly #sockets = new Set<Socket>();

  /** Tracks `server`'s sockets; with TLS the HTTP/1 answer hangs off the TLS socket, so those are tracked too. */
  constructor(server: NetServer, tls: boolean) {
    const track = (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    };
    server.on('connection', track);
    if (tls) server.on('secureConnection', track);
  }

  /** True while any connection is open. */
  get open(): boolean {
    return this.#sockets.size > 0;
  }

  /** In-flight HTTP/1 answers whose head is not yet written will carry `Connection: close`. */
  closeInFlight(): void {
    for (const s of this.#sockets) {
      const res = (s as Socket & { _httpMessage?: ServerResponse })._httpMessage;
      if (res && !res.headersSent) closeConnectionAfter(res);
    }
  }

  destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
  }
}

/**
 * Stops accepting connections; resolves once every connection has closed. net.Server's close,
 * not http.Server's: the latter also closes idle keep-alive sockets at once, and a request
 * already on its way on one would meet a reset.
 */
export function stopAccepting(server: NetServer): Promise<void> {
  return new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
}
