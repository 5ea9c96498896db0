/**
 * The README's "tour of the demo" is true: every command in its `<!-- tour:ID -->` blocks runs,
 * as written, against the shipped gateway.yaml started the way `npm start` starts it
 * (`gateway start --demo`), and each answer is the one the tour describes. The quick-start query
 * also keeps its data through a catalog outage, as the tour says.
 *
 * The commands are read from the README, not copied here: a curl (`-s`, `-i`, `-H`, `-d`, a URL
 * on localhost:4000), `VAR=$(npx gateway …)`, and a pipe into `grep [-i] PATTERN`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, startCliGateway, type CliGateway } from '../helpers/cli.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startShopGateway } from './shop-gateway.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The tour's blocks by id, in README order. */
function tourBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of README.matchAll(/<!-- tour:([\w-]+) -->\n```sh\n([\s\S]*?)```/g)) blocks.set(m[1]!, m[2]!);
  return blocks;
}

/** One command per line once `\`-newline continuations are joined; comments and blank lines dropped. */
function commands(script: string): string[] {
  return script
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** POSIX-shell words: '…' literal, "…" with $VAR and \" \\ \$, bare words with $VAR; `|` is its own word. */
function words(line: string, vars: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  const expand = (i: number): [string, number] => {
    const m = /^\$([A-Za-z_]\w*)/.exec(line.slice(i));
    if (!m) return ['$', i + 1];
    const v = vars.get(m[1]!);
    if (v === undefined) throw new Error(`README tour uses $${m[1]} before setting it`);
    return [v, i + m[0].length];
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
      i++;
    } else if (c === '|' && cur === undefined) {
      out.push('|');
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new Error(`unterminated ' in: ${line}`);
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      cur ??= '';
      i++;
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
        if (line[i] === '\\' && '"\\$'.includes(line[i + 1]!)) {
          cur += line[i + 1];
          i += 2;
        } else if (line[i] === '$') {
          const [v, next] = expand(i);
          cur += v;
          i = next;
        } else cur += line[i++];
      }
      i++;
    } else if (c === '$' && line[i + 1] !== '(') {
      const [v, next] = expand(i);
      cur = (cur ?? '') + v;
      i = next;
    } else {
      cur = (cur ?? '') + c;
      i++;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

interface CurlResult {
  status: number;
  headers: Headers;
  body: string;
  /** What the command prints: the body, with the status line and headers first under -i, filtered by a pipe. */
  output: string;
  json(): any;
}

async function curl(args: string[], base: string): Promise<Omit<CurlResult, 'output'> & { printed: string }> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  let include = false;
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-H' || a === '--header') {
      const h = args[++i]!;
      const colon = h.indexOf(':');
      headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
    } else if (a === '-d' || a === '--data') body = args[++i];
    else if (/^-[si]+$/.test(a)) include ||= a.includes('i');
    else if (a.startsWith('-')) throw new Error(`the tour test does not know the curl option ${a}`);
    else url = a;
  }
  if (!url?.startsWith('localhost:4000/')) throw new Error(`tour curls go to localhost:4000, not ${url}`);
  const res = await fetch(`${base}${url.slice('localhost:4000'.length)}`, { method: body === undefined ? 'GET' : 'POST', headers, body });
  const text = await res.text();
  const head = [`HTTP/1.1 ${res.status}`, ...[...res.headers].map(([k, v]) => `${k}: ${v}`)].join('\n');
  return { status: res.status, headers: res.headers, body: text, printed: include ? `${head}\n\n${text}` : text, json: () => JSON.parse(text) };
}

/** `grep [-i] PATTERN` over printed lines (PATTERN as a regular expression). */
function grep(args: string[], printed: string): string {
  const ignoreCase = args[0] === '-i';
  const pattern = ignoreCase ? args[1] : args[0];
  if (!pattern || args.length > (ignoreCase ? 2 : 1)) throw new Error(`the tour test runs only grep [-i] PATTERN, not grep ${args.join(' ')}`);
  const re = new RegExp(pattern, ignoreCase ? 'i' : '');
  return printed.split(/\r?\n/).filter((l) => re.test(l)).join('\n');
}

/** Runs one block's commands in order; shell variables carry over between blocks. */
async function runBlock(script: string, base: string, vars: Map<string, string>): Promise<CurlResult[]> {
  const results: CurlResult[] = [];
  for (const line of commands(script)) {
    const assign = /^([A-Za-z_]\w*)=\$\((.*)\)$/.exec(line);
    if (assign) {
      const [cmd, ...rest] = words(assign[2]!, vars);
      if (cmd !== 'npx' || rest[0] !== 'gateway') throw new Error(`the tour test runs only npx gateway in $(…), not: ${assign[2]}`);
      const r = await runCli(rest.slice(1));
      expect(r.code, r.stderr).toBe(0);
      vars.set(assign[1]!, r.stdout.trim());
      continue;
    }
    const w = words(line, vars);
    const pipe = w.indexOf('|');
    const [cmd, ...args] = pipe === -1 ? w : w.slice(0, pipe);
    if (cmd !== 'curl') throw new Error(`the tour test runs curl, not: ${line}`);
    const r = await curl(args, base);
    let output = r.printed;
    if (pipe !== -1) {
      const [filter, ...fargs] = w.slice(pipe + 1);
      if (filter !== 'grep') throw new Error(`the tour test pipes only into grep, not: ${line}`);
      output = grep(fargs, output);
    }
    results.push({ status: r.status, headers: r.headers, body: r.body, output, json: r.json });
  }
  return results;
}

const ANONYMOUS_MESSAGE = 'Mutation.createOrder needs a verified identity: send a bearer token (Authorization: Bearer <token>)';

/** What each tour step must show. */
const EXPECT: Record<string, (r: CurlResult[]) => void> = {
  query([r]) {
    const body = r!.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.users.map((u: any) => u.name)).toEqual(['Ada Lovelace', 'Grace Lovelace']);
    expect(body.data.users[0].orders).toHaveLength(2);
    expect(body.data.users[0].orders[0].items[0].product.name).toEqual(expect.any(String));
  },
  mutation([order, me]) {
    const created = order!.json();
    expect(created.errors).toBeUndefined();
    expect(created.data.createOrder).toMatchObject({ status: 'PENDING', user: { name: expect.any(String) } });
    expect(created.data.createOrder.total).toBeGreaterThan(0);
    const who = me!.json();
    expect(who.errors).toBeUndefined();
    expect(who.data.me).toMatchObject({ id: '42', name: created.data.createOrder.user.name, email: expect.stringContaining('@') });
  },
  anonymous([r]) {
    const body = r!.json();
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0].message).toBe(ANONYMOUS_MESSAGE);
    expect(README).toContain(ANONYMOUS_MESSAGE.replace('Mutation.createOrder needs', 'Mutation.createOrder\nneeds'));
  },
  'rate-limit'([r]) {
    expect(r!.status).toBe(200);
    const lines = r!.output.split('\n');
    expect(lines).toHaveLength(3);
    const { points } = loadConfigFile(join(ROOT, 'gateway.yaml')).config.rateLimit.perClient!;
    expect(README).toContain(`${points} requests a minute per client`);
    expect(lines).toContain(`x-ratelimit-limit: ${points}`);
    expect(r!.output).toMatch(/^x-ratelimit-remaining: \d+$/m);
    expect(r!.output).toMatch(/^x-ratelimit-reset: \d+$/m);
  },
  apq([miss, register, hit]) {
    expect(miss!.json().errors[0].message).toBe('PersistedQueryNotFound');
    expect(register!.json().data.product.name).toBe('Keyboard 1');
    expect(hit!.status).toBe(200);
    expect(hit!.json().data.product).toEqual(register!.json().data.product);
  },
  passthrough([user, products]) {
    expect(user!.json()).toMatchObject({ id: '1', name: 'Ada Lovelace' });
    expect(products!.json().products.map((p: any) => p.id)).toEqual(['p1', 'p2']);
  },
  ops([health, metrics]) {
    expect(health!.status).toBe(200);
    const lines = metrics!.output.split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^gateway_requests_total\{/);
    expect(metrics!.output).toMatch(/route="graphql"/);
  },
};

describe('the README tour of the demo, against the shipped config', () => {
  let gw: CliGateway;
  beforeAll(async () => {
    gw = await startCliGateway(['--config', 'gateway.yaml', '--port', '0', '--demo'], { timeoutMs: 30_000 });
  }, 40_000);
  afterAll(async () => {
    expect(await gw?.stop()).toBe(0);
  });

  it('names exactly the steps this test checks, in a tour section of the README', () => {
    expect([...tourBlocks().keys()].sort()).toEqual(Object.keys(EXPECT).sort());
  });

  it('starts with the development secret, and says so in one warn line', () => {
    const warned = gw.lines.filter((l) => l.level === 'warn' && /DEVELOPMENT secret/.test(String(l.msg)));
    expect(warned).toHaveLength(1);
  });

  it('keeps the direct GraphQL path with APQ on by default (the APQ hooks are reproduced, not a reason for yoga)', () => {
    expect(gw.lines.find((l) => l.msg === 'graphql path')).toMatchObject({ graphqlPath: 'direct' });
  });

  it('every command answers as the tour says', async () => {
    const vars = new Map<string, string>();
    for (const [id, script] of tourBlocks()) {
      const results = await runBlock(script, gw.url, vars);
      try {
        EXPECT[id]!(results);
      } catch (err) {
        (err as Error).message = `README tour step "${id}": ${(err as Error).message}`;
        throw err;
      }
    }
  }, 60_000);
});

describe('the tour query under a catalog outage', () => {
  const query = () => JSON.parse(/-d '(.*)'/.exec(commands(tourBlocks().get('query')!)[0]!)![1]!).query as string;

  it('keeps names, orders and quantities; only products are null, each with UPSTREAM_UNAVAILABLE', async () => {
    const gw = await startShopGateway();
    try {
      gw.demo.catalog.recorder.behaviour.failStatus = 14;
      const r = await gw.gql(query());
      expect(r.status).toBe(200);
      const users = r.body.data.users as any[];
      expect(users.map((u) => u.name)).toEqual(['Ada Lovelace', 'Grace Lovelace']);
      const items = users.flatMap((u) => u.orders).flatMap((o: any) => o.items);
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) expect(item).toEqual({ quantity: expect.any(Number), product: null });
      expect(r.body.errors).toHaveLength(items.length);
      for (const e of r.body.errors!) {
        expect(e.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
        expect(e.path!.at(-1)).toBe('product');
      }
      // The contrast the tour draws: the non-null Order.total takes each whole user down with it.
      const withTotal = await gw.gql(query().replace('orders { status', 'orders { status total'));
      expect(withTotal.body.data.users).toEqual([null, null]);
    } finally {
      await gw.close();
    }
  });
});
