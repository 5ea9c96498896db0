/**
 * The per-request metrics kept as plain numbers in cells bound once per label set (a route and
 * method, an upstream), and handed to prom-client only when the registry is read (each family's
 * `collect` hook, which every export path runs: `/metrics`, the metrics port, the cluster's
 * aggregation). A request then pays a map lookup and a few additions instead of prom-client's
 * label validation and hashing for each of its counters and histograms.
 *
 * Histograms are folded in through prom-client's per-label-set entry (`hashMap`, the structure its
 * own `observe` updates: per-bucket counts keyed by upper bound, sum, count). That structure is not
 * in its type declarations; test/metrics.test.ts reads the exposition and holds it to the same output.
 */
import type { Counter, Histogram } from 'prom-client';

/** prom-client's stored values for one label set of a histogram (lib/histogram.js, createBaseValues). */
interface HistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** Observations of one histogram label set since the last read. */
export class HistogramCell {
  readonly labels: Record<string, string>;
  readonly #bounds: readonly number[];
  /** Per-bucket counts (not cumulative), one per upper bound; values above the last bound count only in `count`. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;
  /** prom-client's key for this label set, once known. */
  hash: string | undefined;

  constructor(labels: Record<string, string>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.buckets = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const b = this.#bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }
}

/** Adds every cell's observations since the last read to the histogram, then clears the cells. */
export function flushHistogram(h: Histogram<string>, bounds: readonly number[], cells: Iterable<HistogramCell>): void {
  const store = h as unknown as { hashMap: Record<string, HistogramEntry | undefined> };
  for (const c of cells) {
    if (c.count === 0) continue;
    let entry = c.hash === undefined ? undefined : store.hashMap[c.hash];
    if (!entry || entry.labels !== c.labels) {
      // First read, or the family was reset: let prom-client create the entry, then find its key.
      h.zero(c.labels);
      c.hash = Object.keys(store.hashMap).find((k) => store.hashMap[k]!.labels === c.labels);
      entry = c.hash === undefined ? undefined : store.hashMap[c.hash];
      if (!entry) continue;
    }
    entry.sum += c.sum;
    entry.count += c.count;
    for (let i = 0; i < bounds.length; i++) if (c.buckets[i]) entry.bucketValues[bounds[i]!] = (entry.bucketValues[bounds[i]!] ?? 0) + c.buckets[i]!;
    c.sum = 0;
    c.count = 0;
    c.buckets.fill(0);
  }
}

/** Counts of one counter family's label set since the last read. */
export class CountCell {
  n = 0;
  constructor(readonly labels: Record<string, string | number>) {}
}

/** Adds every cell's count since the last read to the counter, then clears the cells. */
export function flushCounter(c: Counter<string>, cells: Iterable<CountCell>): void {
  for (const cell of cells) {
    if (cell.n === 0) continue;
    c.inc(cell.labels, cell.n);
    cell.n = 0;
  }
}

/** One route and method: its requests by status, and their durations. */
export class RequestCell {
  readonly #method: string;
  readonly #route: string;
  readonly byStatus = new Map<number, CountCell>();
  readonly duration: HistogramCell;

  constructor(method: string, route: string, bounds: readonly number[]) {
    this.#method = method;
    this.#route = route;
    this.duration = new HistogramCell({ method, route }, bounds);
  }

  count(status: number): void {
    let c = this.byStatus.get(status);
    if (!c) this.byStatus.set(status, (c = new CountCell({ method: this.#method, route: this.#route, status_code: status })));
    c.n++;
  }
}

/** One upstream: its calls by outcome, and their durations. */
export class UpstreamCell {
  readonly #upstream: string;
  readonly byStatus = new Map<string, CountCell>();
  readonly duration: HistogramCell;

  constructor(upstream: string, bounds: readonly number[]) {
    this.#upstream = upstream;
    this.duration = new HistogramCell({ upstream }, bounds);
  }

  count(status: string): void {
    let c = this.byStatus.get(status);
    if (!c) this.byStatus.set(status, (c = new CountCell({ upstream: this.#upstream, status })));
    c.n++;
  }
}
