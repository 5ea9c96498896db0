/**
 * The request and upstream families are read from cells (src/telemetry/metric-cells.ts), not
 * kept by prom-client's Counter and Histogram. Fed the same observations, they must expose what
 * prom-client's own classes would: the same text (HELP, TYPE, every bucket, sum and count) and
 * the same JSON, which is what a cluster's primary sums. Only the order of a counter's series may
 * differ (prom-client's is first-seen label set; the cells' is grouped by cell), which
 * Prometheus ignores.
 */
import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { CellFamily, TallyCell } from '../src/telemetry/metric-cells.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
const STATUSES = [200, 404, 500];

/** Deterministic observations, some past the last bound (only in +Inf, sum and count). */
function* observations(): Generator<{ method: string; route: string; status: number; seconds: number }> {
  for (let i = 0; i < 400; i++) {
    yield { method: i % 2 ? 'GET' : 'POST', route: ['graphql', 'orders', 'unmatched'][i % 3]!, status: STATUSES[i % 7 === 0 ? 2 : i % 5 === 0 ? 1 : 0]!, seconds: ((i * 37) % 1300) / 97 };
  }
}

function cellRegistry(): { registry: Registry; cells: Map<string, TallyCell<number>> } {
  const registry = new Registry();
  const cells = new Map<string, TallyCell<number>>();
  new CellFamily({ name: 'x_requests_total', help: 'Requests, by method, route and status.', type: 'counter', cells: () => cells.values() }).registerWith(registry);
  new CellFamily({ name: 'x_request_duration_seconds', help: 'Request time, by method and route.', type: 'histogram', buckets: BUCKETS, cells: () => cells.values() }).registerWith(registry);
  return { registry, cells };
}

function promRegistry(): { registry: Registry; counter: Counter<string>; histogram: Histogram<string> } {
  const registry = new Registry();
  const counter = new Counter({ name: 'x_requests_total', help: 'Requests, by method, route and status.', labelNames: ['method', 'route', 'status_code'], registers: [registry] });
  const histogram = new Histogram({ name: 'x_request_duration_seconds', help: 'Request time, by method and route.', labelNames: ['method', 'route'], buckets: BUCKETS, registers: [registry] });
  return { registry, counter, histogram };
}

/** The exposition with each family's sample lines sorted (HELP and TYPE stay first). */
function sortedWithinFamilies(text: string): string {
  return text
    .split(/(?=^# HELP )/m)
    .map((family) => {
      const lines = family.split('\n');
      return [...lines.slice(0, 2), ...lines.slice(2).sort()].join('\n');
    })
    .join('');
}

/** The JSON with each metric's values sorted, without `exemplar` (prom-client's histograms carry `null`; cells have none). */
function comparableJson(json: unknown): unknown {
  type Value = { metricName?: string; labels: Record<string, unknown> };
  const plain = JSON.parse(JSON.stringify(json, (k, v) => (k === 'exemplar' ? undefined : v))) as { values: Value[] }[];
  const key = (v: Value) => `${v.metricName ?? ''} ${JSON.stringify(v.labels)}`;
  for (const m of plain) m.values.sort((a, b) => key(a).localeCompare(key(b)));
  return plain;
}

describe('cell families', () => {
  it('expose the same text and JSON as prom-client counters and histograms fed the same observations', async () => {
    const ours = cellRegistry();
    const theirs = promRegistry();
    const feed = (from: number, to: number) => {
      let i = 0;
      for (const o of observations()) {
        if (i++ < from || i > to) continue;
        const key = `${o.route} ${o.method}`;
        let cell = ours.cells.get(key);
        if (!cell) ours.cells.set(key, (cell = new TallyCell({ method: o.method, route: o.route }, 'status_code', BUCKETS)));
        cell.count(o.status);
        cell.duration.observe(o.seconds);
        theirs.counter.inc({ method: o.method, route: o.route, status_code: o.status });
        theirs.histogram.observe({ method: o.method, route: o.route }, o.seconds);
      }
    };
    const same = async () => expect(sortedWithinFamilies(await ours.registry.metrics())).toBe(sortedWithinFamilies(await theirs.registry.metrics()));
    await same();
    feed(0, 250);
    const text = await ours.registry.metrics();
    expect(text).toContain('# TYPE x_request_duration_seconds histogram');
    expect(text).toContain('x_request_duration_seconds_bucket{le="+Inf",method="POST",route="graphql"}');
    await same();
    // Read again after more traffic: the families are cumulative, as prom-client's are.
    feed(250, 400);
    await same();
    expect(comparableJson(await ours.registry.getMetricsAsJSON())).toEqual(comparableJson(await theirs.registry.getMetricsAsJSON()));
    // resetMetrics empties both alike.
    ours.registry.resetMetrics();
    theirs.registry.resetMetrics();
    await same();
  });
});
