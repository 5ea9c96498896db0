/**
 * The per-request metrics kept as plain numbers in cells bound once per label set (a route and
 * method, an upstream). A request pays a map lookup and a few additions instead of prom-client's
 * label validation and hashing, which its histograms run on every `observe`, a bound child's
 * (`histogram.labels(...)`) included.
 *
 * The cells reach the exposition through {@link CellFamily}: a metric object registered with the
 * registry's `registerMetric` whose `get()` reads the cells, in the shape prom-client's own
 * counters and histograms return. The registry renders every export path from `get()` (text,
 * JSON, and so the cluster's aggregation, which sums by `aggregator`); prom-client's cluster code
 * registers aggregated metrics the same way (lib/cluster.js). test/metric-cells.test.ts holds
 * the families to what prom-client's own Counter and Histogram expose for the same observations.
 */
import type { Metric, Registry } from 'prom-client';

/** Observations of one histogram label set. */
export class HistogramCell {
  readonly labels: Readonly<Record<string, string>>;
  readonly #bounds: readonly number[];
  /** Per-bucket counts (not cumulative), one per upper bound; values above the last bound count only in `count`. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Readonly<Record<string, string>>, bounds: readonly number[]) {
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

  reset(): void {
    this.sum = 0;
    this.count = 0;
    this.buckets.fill(0);
  }
}

/** Count of one counter label set. */
export class CountCell {
  n = 0;
  constructor(readonly labels: Readonly<Record<string, string | number>>) {}
}

/**
 * One label set of the request or upstream families (`{method, route}`, `{upstream}`): its calls
 * counted by status under `statusLabel`, and their durations.
 */
export class TallyCell<S extends string | number> {
  readonly #labels: Readonly<Record<string, string>>;
  readonly #statusLabel: string;
  readonly byStatus = new Map<S, CountCell>();
  readonly duration: HistogramCell;

  constructor(labels: Readonly<Record<string, string>>, statusLabel: string, bounds: readonly number[]) {
    this.#labels = labels;
    this.#statusLabel = statusLabel;
    this.duration = new HistogramCell(labels, bounds);
  }

  count(status: S): void {
    let c = this.byStatus.get(status);
    if (!c) this.byStatus.set(status, (c = new CountCell({ ...this.#labels, [this.#statusLabel]: status })));
    c.n++;
  }
}

/** One exposition line's value, as prom-client's `get()` gives it. */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface FamilyBase {
  name: string;
  help: string;
  /** Every cell of the family, in the order their series are exposed. */
  cells: () => Iterable<TallyCell<string | number>>;
}

/** A counter family: each cell's counts by status. */
export interface CounterFamilyOptions extends FamilyBase {
  type: 'counter';
}

/** A histogram family: each cell's durations, in `buckets` (upper bounds, the cells' own). */
export interface HistogramFamilyOptions extends FamilyBase {
  type: 'histogram';
  buckets: readonly number[];
}

/** A counter or histogram family read from cells when the registry is read. */
export class CellFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  /** Summed over a cluster's workers, as prom-client's counters and histograms are. */
  readonly aggregator = 'sum';
  readonly #opts: CounterFamilyOptions | HistogramFamilyOptions;

  constructor(opts: CounterFamilyOptions | HistogramFamilyOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.type = opts.type;
    this.#opts = opts;
  }

  /** Registers the family; the registry's typings name only prom-client's own classes, its runtime reads `get()`. */
  registerWith(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const o = this.#opts;
    const values: MetricValue[] = [];
    if (o.type === 'counter') {
      for (const cell of o.cells()) for (const c of cell.byStatus.values()) if (c.n > 0) values.push({ value: c.n, labels: { ...c.labels } });
    } else {
      for (const cell of o.cells()) if (cell.duration.count > 0) histogramValues(this.name, o.buckets, cell.duration, values);
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes the family's cells (the registry's `resetMetrics`). */
  reset(): void {
    for (const cell of this.#opts.cells()) {
      for (const c of cell.byStatus.values()) c.n = 0;
      cell.duration.reset();
    }
  }
}

/** The lines of one histogram label set in prom-client's order: cumulative buckets, `+Inf`, sum, count. */
function histogramValues(name: string, bounds: readonly number[], h: HistogramCell, out: MetricValue[]): void {
  const bucket = `${name}_bucket`;
  let acc = 0;
  for (let i = 0; i < bounds.length; i++) {
    acc += h.buckets[i]!;
    out.push({ labels: { le: bounds[i]!, ...h.labels }, value: acc, metricName: bucket });
  }
  out.push({ labels: { le: '+Inf', ...h.labels }, value: h.count, metricName: bucket });
  out.push({ labels: { ...h.labels }, value: h.sum, metricName: `${name}_sum` });
  out.push({ labels: { ...h.labels }, value: h.count, metricName: `${name}_count` });
}
