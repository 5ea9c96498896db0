/**
 * The gateway's Prometheus metrics: one prom-client Registry per gateway instance (never the
 * global one), so several gateways in one process (tests, hot reload) keep their own counts.
 *
 * Label cardinality is bounded by construction: routes are names from the config (`graphql`,
 * `internal`, `unmatched` otherwise, never a raw path), methods come from a fixed list,
 * upstreams from the config, and the two client-controlled labels (`client_id`,
 * `operation_name`) go through a {@link BoundedLabel} that folds new values into `other` once
 * its cap is reached. Every such value is also cut to {@link MAX_LABEL_CHARS} (see
 * {@link capLabel}), so the exposition stays small however long the names clients send.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, register as processRegistry } from 'prom-client';
import { CellFamily, TallyCell } from './metric-cells.js';

/** Circuit state as the CONTRACT encodes it in `gateway_circuit_state`. */
export const CIRCUIT_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** The label value values fold into once a {@link BoundedLabel} is full. */
export const OVERFLOW_LABEL = 'other';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

/** A request method as a label: one of the standard methods, else `OTHER`. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

/** Longest label value kept; longer ones are cut and marked with {@link TRUNCATED_MARK}. */
export const MAX_LABEL_CHARS = 100;

/** Ends a label value that was cut, so a reader never takes it for the whole name. */
export const TRUNCATED_MARK = '...[truncated]';

/** A label value of at most {@link MAX_LABEL_CHARS} characters (plus the mark when cut). */
export function capLabel(v: string): string {
  if (v.length <= MAX_LABEL_CHARS) return v;
  let end = MAX_LABEL_CHARS;
  // Never leave half a surrogate pair at the cut.
  const last = v.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return v.slice(0, end) + TRUNCATED_MARK;
}

/**
 * Keeps at most `max` distinct values of a label; later newcomers are reported as `other`.
 * The first values seen keep their own series for the life of the gateway.
 */
export class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  value(raw: string): string {
    // Cut first: the table of seen values is bounded in bytes, not only in entries.
    const v = capLabel(raw);
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.#max) return OVERFLOW_LABEL;
    this.#seen.add(v);
    return v;
  }
}

export interface GatewayMetricsOptions {
  /** Upstream names from the config: their circuit gauge starts at 0 (closed). */
  upstreams?: string[];
  /** Distinct `client_id` values kept before folding into `other`. @default 1000 */
  maxClientIds?: number;
  /** Distinct `operation_name` values kept before folding into `other`. @default 500 */
  maxOperationNames?: number;
  /** Also export process and Node.js runtime metrics (CPU, memory, event loop, GC). @default true */
  processMetrics?: boolean;
}

/**
 * Process and runtime metrics (CPU, memory, event-loop lag, GC) describe the process, not one
 * gateway: they are collected once, into prom-client's process-wide registry (which a cluster
 * worker also aggregates), however many gateways the process runs.
 */
function ensureProcessMetrics(): void {
  if (!processRegistry.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: processRegistry });
}

/** Seconds; from a cache hit (sub-millisecond) to a slow fan-out. */
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class GatewayMetrics {
  readonly registry = new Registry();
  /** Request tallies by route label, then method (src/telemetry/metric-cells.ts); the families read them on scrape. */
  readonly #requestCells = new Map<string, Map<string, TallyCell<number>>>();
  /** Upstream call tallies by upstream name. */
  readonly #upstreamCells = new Map<string, TallyCell<string>>();
  /** Requests in flight, read into `gateway_active_connections` on scrape. */
  inFlight = 0;
  readonly clientIds: BoundedLabel;
  readonly operationNames: BoundedLabel;

  readonly requests = new CellFamily({
    name: 'gateway_requests_total',
    help: 'Requests answered by the gateway, by method, route name and HTTP status.',
    type: 'counter',
    cells: () => this.#requestCellList(),
  }).registerWith(this.registry);

  readonly requestDuration = new CellFamily({
    name: 'gateway_request_duration_seconds',
    help: 'Time from request arrival to the end of the response, by method and route name.',
    type: 'histogram',
    buckets: REQUEST_BUCKETS,
    cells: () => this.#requestCellList(),
  }).registerWith(this.registry);

  readonly activeConnections = new Gauge({
    name: 'gateway_active_connections',
    help: 'Requests in flight (client connections with a request being served).',
    collect: (): void => this.activeConnections.set(this.inFlight),
    registers: [this.registry],
  });

  readonly rateLimitExceeded = new Counter({
    name: 'gateway_rate_limit_exceeded_total',
    help: 'Requests refused by a rate limit (whole request or one field), by client and route.',
    labelNames: ['client_id', 'route'] as const,
    registers: [this.registry],
  });

  readonly upstreamRequests = new CellFamily({
    name: 'gateway_upstream_requests_total',
    help: 'Calls to upstreams by outcome: HTTP status, OK for gRPC, else the gateway error code.',
    type: 'counter',
    cells: () => this.#upstreamCells.values(),
  }).registerWith(this.registry);

  readonly upstreamDuration = new CellFamily({
    name: 'gateway_upstream_request_duration_seconds',
    help: 'Duration of calls to upstreams (retries included), by upstream.',
    type: 'histogram',
    buckets: REQUEST_BUCKETS,
    cells: () => this.#upstreamCells.values(),
  }).registerWith(this.registry);

  readonly upstreamRetries = new Counter({
    name: 'gateway_upstream_retries_total',
    help: 'Retries sent to upstreams, by upstream.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly circuitState = new Gauge({
    name: 'gateway_circuit_state',
    help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly circuitTransitions = new Counter({
    name: 'gateway_circuit_state_changes_total',
    help: 'Circuit breaker state changes, by upstream and the state entered.',
    labelNames: ['upstream', 'state'] as const,
    registers: [this.registry],
  });

  readonly targetHealthy = new Gauge({
    name: 'gateway_upstream_target_healthy',
    help: 'Health of each upstream target as the health checks see it: 1 healthy, 0 not.',
    labelNames: ['upstream', 'target'] as const,
    registers: [this.registry],
  });

  readonly targetState = new Gauge({
    name: 'gateway_upstream_target_state',
    help: 'Passive detection state of each upstream target: 0 in rotation, 1 probing (trial calls), 2 ejected.',
    labelNames: ['upstream', 'target'] as const,
    registers: [this.registry],
  });

  readonly targetEjections = new Counter({
    name: 'gateway_upstream_target_ejections_total',
    help: 'Times a target was ejected by passive detection (consecutive failures or failure rate).',
    labelNames: ['upstream', 'target'] as const,
    registers: [this.registry],
  });

  readonly upstreamRefused = new Counter({
    name: 'gateway_upstream_refused_total',
    help: 'Calls refused before reaching any target (circuit open, trial slots taken, no healthy target); not counted in gateway_upstream_requests_total.',
    labelNames: ['upstream', 'reason'] as const,
    registers: [this.registry],
  });

  readonly upstreamPanic = new Counter({
    name: 'gateway_upstream_panic_routed_total',
    help: 'Calls routed while too few targets passed health checks (panic threshold): health checks were ignored for them.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'gateway_cache_requests_total',
    help: 'Response-cache lookups on cached routes, by route and result (hit or miss).',
    labelNames: ['route', 'result'] as const,
    registers: [this.registry],
  });

  readonly graphqlOperations = new Counter({
    name: 'gateway_graphql_operations_total',
    help: 'GraphQL operations executed, by operation name and type and the first error code (none when clean).',
    labelNames: ['operation_name', 'operation_type', 'error_code'] as const,
    registers: [this.registry],
  });

  readonly graphqlErrors = new Counter({
    name: 'gateway_graphql_errors_total',
    help: 'GraphQL errors returned in responses, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor(opts: GatewayMetricsOptions = {}) {
    this.clientIds = new BoundedLabel(opts.maxClientIds ?? 1000);
    this.operationNames = new BoundedLabel(opts.maxOperationNames ?? 500);
    for (const u of opts.upstreams ?? []) this.circuitState.set({ upstream: u }, CIRCUIT_STATE_VALUE.closed);
    this.#withProcess = opts.processMetrics !== false;
    if (this.#withProcess) ensureProcessMetrics();
  }

  readonly #withProcess: boolean;

  /** The tallies of one route label and method (both already bounded: config names, known methods). */
  requestCell(method: string, route: string): TallyCell<number> {
    let row = this.#requestCells.get(route);
    if (!row) this.#requestCells.set(route, (row = new Map()));
    let cell = row.get(method);
    if (!cell) row.set(method, (cell = new TallyCell({ method, route }, 'status_code', REQUEST_BUCKETS)));
    return cell;
  }

  /** The tallies of one upstream (names from the config). */
  upstreamCell(upstream: string): TallyCell<string> {
    let cell = this.#upstreamCells.get(upstream);
    if (!cell) this.#upstreamCells.set(upstream, (cell = new TallyCell({ upstream }, 'status', REQUEST_BUCKETS)));
    return cell;
  }

  *#requestCellList(): Generator<TallyCell<number>> {
    for (const row of this.#requestCells.values()) yield* row.values();
  }

  /** The exposition text (this gateway's registry, then the process-wide one) and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    const own = await this.registry.metrics();
    if (!this.#withProcess) return { body: own, contentType: this.registry.contentType };
    return { body: `${own}\n${await processRegistry.metrics()}`, contentType: this.registry.contentType };
  }
}
