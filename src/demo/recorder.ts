/**
 * What a demo upstream saw and how it should misbehave. Tests read `calls` to count upstream
 * traffic (the batching guarantee is counted here) and set `behaviour` to simulate failures.
 */
export interface RecordedCall {
  method: string;
  /** Path without the query string (HTTP) or the gRPC method name. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** gRPC request message, when there was one. */
  request?: unknown;
}

export interface Behaviour {
  /** Wait this long before answering. */
  delayMs: number;
  /** Answer every request (but /health unless `failHealth`) with this HTTP status / gRPC code. */
  failStatus: number;
  /** Destroy the connection without answering. */
  drop: boolean;
  /** Also apply failures to the health endpoint. */
  failHealth: boolean;
  /** gRPC: the status details a failure carries (default `simulated <CODE>`). */
  failDetails?: string;
}

export const NORMAL: Readonly<Behaviour> = Object.freeze({ delayMs: 0, failStatus: 0, drop: false, failHealth: false });

/** Calls a recorder keeps at most. */
export const MAX_RECORDED = 10_000;

export class Recorder {
  readonly calls: RecordedCall[] = [];
  behaviour: Behaviour = { ...NORMAL };

  record(call: RecordedCall): void {
    // A demo upstream under load (`npm start`, the benchmark) must not keep every call it saw:
    // past MAX_RECORDED the older half is forgotten. Tests count far fewer.
    if (this.calls.push(call) > MAX_RECORDED) this.calls.splice(0, MAX_RECORDED / 2);
  }

  /** Calls whose path equals `path` (health checks excluded unless asked for). */
  callsTo(path: string, method?: string): RecordedCall[] {
    return this.calls.filter((c) => c.path === path && (!method || c.method === method));
  }

  reset(): void {
    this.calls.length = 0;
    this.behaviour = { ...NORMAL };
  }
}
