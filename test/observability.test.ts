/**
 * Operator-facing artefacts and the access log:
 * - deploy/prometheus/alerts.yml and the Grafana dashboard in deploy/grafana/ are well formed,
 *   and every metric their queries name is exported by a real gateway's /metrics;
 * - the access log line carries the CONTRACT's fields and never a client's secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { familyNames } from './helpers/prom-text.js';
import { ROOT } from './helpers/cli.js';
import { createLogger } from '../src/telemetry/logger.js';

/** Series Prometheus makes itself (not exported by the gateway). */
const PROMETHEUS_SERIES = new Set(['up']);
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** The metric names a PromQL expression selects (strings, matchers, ranges and grouping removed). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ');
  const out: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][\w:]*(?!\s*\()/g)) {
    const word = m[0];
    const after = bare.slice(m.index! + word.length);
    if (/^\s*\(/.test(after) || /^[\w:]/.test(after)) continue;
    if (PROMQL_WORDS.has(word.toLowerCase())) continue;
    out.push(word);
  }
  return out;
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
    if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (pairs[ch] && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

describe('alert rules and dashboard', () => {
  let exported: Set<string>;
  beforeAll(async () => {
    const gw = await startTestGateway();
    try {
      exported = familyNames(await (await fetch(`${gw.url}/metrics`)).text());
    } finally {
      await gw.close();
    }
  });

  it('metricNames reads selectors out of PromQL (and so can catch a missing metric)', () => {
    expect(metricNames('sum by (route) (rate(gateway_requests_total{status_code=~"5.."}[5m])) / up offset 1h > 0.05')).toEqual(['gateway_requests_total', 'up']);
    expect(exported.has('gateway_requests_totl')).toBe(false);
  });

  it('deploy/prometheus/alerts.yml is a valid rule file whose metrics all exist', () => {
    const doc = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'));
    expect(Array.isArray(doc.groups)).toBe(true);
    const alerts = new Set<string>();
    for (const g of doc.groups) {
      expect(typeof g.name).toBe('string');
      for (const r of g.rules) {
        expect(Object.keys(r).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
        expect(r.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
        expect(r.for).toMatch(/^\d+[smh]$/);
        expect(['critical', 'warning']).toContain(r.labels.severity);
        expect(r.annotations.summary).toBeTruthy();
        expect(balanced(r.expr)).toBe(true);
        const names = metricNames(r.expr);
        expect(names.length).toBeGreaterThan(0);
        for (const n of names) expect(exported.has(n) || PROMETHEUS_SERIES.has(n), `${r.alert}: ${n}`).toBe(true);
        alerts.add(r.alert);
      }
    }
    for (const a of ['GatewayInstanceDown', 'GatewayHighErrorRate', 'GatewayHighLatencyP99', 'GatewayCircuitOpen', 'GatewayRateLimitSpike']) expect(alerts).toContain(a);
  });

  it('every Grafana dashboard in deploy/grafana/ queries only exported metrics', () => {
    const files = readdirSync(join(ROOT, 'deploy/grafana')).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const dash = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana', f), 'utf8'));
      expect(dash.uid).toBeTruthy();
      const ids = new Set<number>();
      for (const p of dash.panels) {
        expect(ids.has(p.id)).toBe(false);
        ids.add(p.id);
        expect(p.gridPos.w).toBeGreaterThan(0);
        expect(p.targets.length).toBeGreaterThan(0);
        for (const t of p.targets) {
          const expr = t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h');
          expect(balanced(expr)).toBe(true);
          for (const n of metricNames(expr)) expect(exported.has(n), `${f} "${p.title}": ${n}`).toBe(true);
        }
      }
      const contract = ['gateway_requests_total', 'gateway_request_duration_seconds_bucket', 'gateway_active_connections', 'gateway_rate_limit_exceeded_total', 'gateway_upstream_requests_total', 'gateway_circuit_state'];
      const used = new Set(dash.panels.flatMap((p: any) => p.targets.flatMap((t: any) => metricNames(t.expr))));
      for (const c of contract) expect(used).toContain(c);
    }
  });
});

describe('access log', () => {
  const lines: string[] = [];
  let gw: TestGateway;
  const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.sig-Zx81';
  const KEY = 'partner-key-7c1d9e';
  const COOKIE = 'session=cookie-value-5b2a';

  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    gw = await startTestGateway({
      configure(c) {
        c.logging.level = 'info';
        c.rateLimit = { perClient: { points: 2, durationSec: 60 } };
        c.routes = [{ name: 'users-api', match: { pathPrefix: '/api/users' }, upstream: 'users', rewrite: { stripPrefix: '/api' } }];
      },
      logger: createLogger({ level: 'info', destination: sink }),
    });
    const secrets = { authorization: `Bearer ${TOKEN}`, 'x-api-key': KEY, cookie: COOKIE, 'x-request-id': 'req-log-1' };
    await gw.gql('query Fanout { user(id: "1") { name orders { id items { product { name } } } } }', undefined, secrets);
    await fetch(`${gw.url}/api/users/1?access_token=${TOKEN}`, { headers: { ...secrets, 'x-request-id': 'req-log-2' } });
    await fetch(`${gw.url}/api/users/1`, { headers: { 'x-request-id': 'req-log-3' } });
    await new Promise((r) => setTimeout(r, 30));
  });
  afterAll(() => gw?.close());

  const access = () => lines.map((l) => JSON.parse(l)).filter((l) => l.type === 'access');

  it('writes one JSON line per request with the CONTRACT fields', () => {
    const line = access().find((l) => l.requestId === 'req-log-1')!;
    expect(line).toMatchObject({ method: 'POST', path: '/graphql', status: 200, route: 'graphql', clientIp: '127.0.0.1', operationName: 'Fanout', limits: ['perClient:ok'] });
    expect(line.upstream.split(',').sort()).toEqual(['catalog', 'orders', 'users']);
    expect(typeof line.latencyMs).toBe('number');
    expect(line.latencyMs).toBeGreaterThan(0);
    const pass = access().find((l) => l.requestId === 'req-log-2')!;
    expect(pass).toMatchObject({ method: 'GET', path: '/api/users/1', status: 200, route: 'users-api', upstream: 'users' });
  });

  it('records the rate-limit decision and error code of a refused request', () => {
    const refused = access().find((l) => l.requestId === 'req-log-3')!;
    expect(refused).toMatchObject({ status: 429, errorCode: 'RATE_LIMITED' });
    expect(refused.limits).toContain('perClient:exceeded');
  });

  it('never logs the token, API key or cookie a client sent', () => {
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const all = lines.join('\n');
    for (const secret of [TOKEN, KEY, 'cookie-value-5b2a']) expect(all).not.toContain(secret);
  });

  it('redacts secrets even where a log call passes headers', () => {
    const out: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { out.push(String(c)); cb(); } }) });
    log.info({ req: { headers: { authorization: `Bearer ${TOKEN}`, cookie: COOKIE, 'x-api-key': KEY, accept: 'x' } } }, 'debugging');
    const parsed = JSON.parse(out[0]!);
    expect(parsed.req.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', accept: 'x' });
  });
});
