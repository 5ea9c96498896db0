/**
 * Demo upstreams: a team ships, next to each upstream (`upstreams/<name>/demo.ts`), a small server
 * that implements the upstream's API with seeded data, so `gateway start --demo` runs the whole
 * domain on one machine. The engine finds them by folder name; it knows none of them.
 */

/** What a demo module's `start` receives. */
export interface DemoContext {
  /** Port to listen on (0 = ephemeral). */
  port: number;
  host: string;
  /**
   * Shared by all demos of one run, e.g. for seed data several demo servers read: the first demo
   * that needs it creates it (`shared.get(key) ?? create`), a later run starts from scratch.
   */
  shared: Map<string, unknown>;
}

/** A running demo upstream. */
export interface DemoServer {
  /** What the upstream's `targets[].url` becomes: an http URL, or host:port for gRPC. */
  target: string;
  close(): Promise<void>;
}

export interface DemoModule {
  start(ctx: DemoContext): Promise<DemoServer>;
}

/** Declares the demo server of one upstream (the default export of `upstreams/<name>/demo.ts`). */
export function defineDemo(module: DemoModule): DemoModule {
  return module;
}

export function isDemoModule(value: unknown): value is DemoModule {
  return !!value && typeof value === 'object' && typeof (value as DemoModule).start === 'function';
}
