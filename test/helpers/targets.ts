/**
 * Plain HTTP targets for an upstream with several of them (resilience tests): each answers its
 * own index as text, serves the demo kit's generic endpoints (`/echo/…`, `/health`) and records
 * what it saw; `closeAll()` stops whatever a test started (targets, gateways).
 */
import { startHttpUpstream, type DemoHttpServer } from '../fixtures/domain/index.js';

export class Closer {
  readonly #open: Array<{ close(): Promise<void> }> = [];

  add<T extends { close(): Promise<void> }>(x: T): T {
    this.#open.push(x);
    return x;
  }

  async closeAll(): Promise<void> {
    while (this.#open.length) await this.#open.pop()!.close();
  }

  /** Starts `n` targets, closed with the rest. */
  async targets(n: number): Promise<DemoHttpServer[]> {
    const out: DemoHttpServer[] = [];
    for (let i = 0; i < n; i++) {
      const s = await startHttpUpstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(String(i));
      });
      out.push(this.add(s));
    }
    return out;
  }
}
