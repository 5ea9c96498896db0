/**
 * Config loading: interpolation, strict validation, and every problem named by its key path,
 * through the loader and through `gateway config check`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config/load.js';
import { runCli } from './helpers/cli.js';

const VALID = `
server:
  port: \${PORT:-4100}
upstreams:
  users:
    protocol: http
    targets: [ { url: "\${USERS_URL}" } ]
  catalog:
    protocol: grpc
    targets: [ { url: "127.0.0.1:7003" } ]
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): Array<{ path: string; message: string }> {
  try {
    parseConfig(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('interpolation', () => {
  it('replaces ${VAR} and ${VAR:-default}, reading whole placeholders as numbers', () => {
    const c = parseConfig(VALID, { USERS_URL: 'http://10.0.0.1:8080' });
    expect(c.upstreams.users!.targets[0]!.url).toBe('http://10.0.0.1:8080');
    expect(c.server.port).toBe(4100);
    expect(parseConfig(VALID, { USERS_URL: 'http://h:1', PORT: '5001' }).server.port).toBe(5001);
  });

  it('an unset variable without default is an error naming the variable and the key path', () => {
    const p = problemsOf(VALID, {});
    expect(p).toHaveLength(1);
    expect(p[0]!.path).toBe('upstreams.users.targets[0].url');
    expect(p[0]!.message).toContain('USERS_URL');
  });
});

describe('strict validation', () => {
  it('an unknown key is named by its path', () => {
    const p = problemsOf(`${VALID}\nserver2: {}\n`.replace('port: ${PORT:-4100}', 'port: 1\n  drainMS: 5'), { USERS_URL: 'http://h:1' });
    expect(p.map((x) => x.path).sort()).toEqual(['server.drainMS', 'server2']);
    expect(p.every((x) => x.message === 'unknown key')).toBe(true);
  });

  it('a bad URL and a wrong type are named by path, all at once', () => {
    const text = VALID.replace('${USERS_URL}', 'not a url').replace('port: ${PORT:-4100}', 'port: "eighty"');
    const p = problemsOf(text);
    expect(p.map((x) => x.path).sort()).toEqual(['server.port', 'upstreams.users.targets[0].url']);
    expect(p.find((x) => x.path === 'upstreams.users.targets[0].url')!.message).toMatch(/http\(s\) URL/);
  });

  it('a route naming an unknown upstream, and a duplicate key, are reported', () => {
    const text = `${VALID.replace('${USERS_URL}', 'http://h:1')}
routes:
  - name: r
    match: { pathPrefix: /x }
    upstream: nope
`;
    const p = problemsOf(text);
    expect(p.some((x) => x.path === 'routes[0].upstream' && /nope/.test(x.message))).toBe(true);
    const dup = problemsOf(`upstreams: {}\nupstreams: {}\n`);
    expect(dup.some((x) => x.path === 'upstreams' && /twice/.test(x.message))).toBe(true);
  });

  it('upstreams is required, the rest is optional with defaults', () => {
    expect(problemsOf('server: { port: 1 }\n').some((x) => x.path === 'upstreams')).toBe(true);
    const c = parseConfig('upstreams:\n  u: { targets: [ { url: "http://h:1" } ] }\n', {});
    expect(c.server.maxBodyBytes).toBe(1_048_576);
    expect(c.graphql.path).toBe('/graphql');
  });
});

describe('gateway config check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));

  it('exits 0 for a valid file', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, VALID);
    const r = await runCli(['config', 'check', '--config', file], { env: { USERS_URL: 'http://127.0.0.1:1' } });
    expect(r.code).toBe(0);
  });

  it('exits 1 listing every problem by key path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, VALID.replace('protocol: grpc', 'protocol: grcp').replace('port: ${PORT:-4100}', 'port: 1\n  maxBodyByte: 5'));
    const r = await runCli(['config', 'check', '--config', file], { env: { USERS_URL: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('server.maxBodyByte: unknown key');
    expect(r.stderr).toContain('upstreams.catalog.protocol');
    expect(r.stderr).toContain('upstreams.users.targets[0].url');
  });
});

describe('keys not implemented yet', () => {
  it('are reported by key path instead of being ignored', async () => {
    const { pendingKey, pendingEach } = await import('../src/config/pending.js');
    const raw = { graphql: { later: 1 }, routes: [{ name: 'a' }, { name: 'b', later: {} }], upstreams: { u: { later: true }, v: {} } };
    expect(pendingKey('graphql.later')(raw)).toEqual(['graphql.later']);
    expect(pendingKey('server.later')(raw)).toEqual([]);
    expect(pendingEach('routes', 'later')(raw)).toEqual(['routes[1].later']);
    expect(pendingEach('upstreams', 'later')(raw)).toEqual(['upstreams.u.later']);
  });
});
