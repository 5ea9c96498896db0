/**
 * `config check` and the loader under hostile or careless input: alias bombs, oversized files,
 * broken YAML, JWT secrets too short to resist brute force, public keys that cannot verify.
 * Whatever the text, the loader answers with a ConfigError naming key paths, never a crash.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, MAX_CONFIG_BYTES, parseConfig } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';

const UPSTREAMS = 'upstreams:\n  echo: { targets: [ { url: "http://127.0.0.1:9" } ] }\n';

/** The classic "billion laughs": each level names the previous one `width` times. */
function aliasBomb(levels: number, width: number, flow: 'seq' | 'map'): string {
  const lines = [flow === 'seq' ? 'l0: &l0 ["lol","lol","lol"]' : 'l0: &l0 { a: lol, b: lol }'];
  for (let i = 1; i <= levels; i++) {
    const refs = Array.from({ length: width }, (_, j) => (flow === 'seq' ? `*l${i - 1}` : `k${j}: *l${i - 1}`));
    lines.push(flow === 'seq' ? `l${i}: &l${i} [${refs.join(', ')}]` : `l${i}: &l${i} { ${refs.join(', ')} }`);
  }
  return `${lines.join('\n')}\n${UPSTREAMS}`;
}

function problemsOf(text: string): ConfigError['problems'] {
  try {
    parseConfig(text, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-config-hardening-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('YAML resource limits and syntax errors', () => {
  it.each([
    ['nested sequences, 9 x 9', aliasBomb(9, 9, 'seq')],
    ['nested maps, 9 x 9', aliasBomb(9, 9, 'map')],
    ['deep and narrow, 30 x 2', aliasBomb(30, 2, 'seq')],
    ['wide and shallow, 3 x 60', aliasBomb(3, 60, 'seq')],
    ['bomb under a real key', `server:\n  cors:\n    origins: &o ["a","b","c","d"]\n    exposeHeaders: &e [*o,*o,*o,*o,*o,*o,*o,*o]\n    methods: &m [*e,*e,*e,*e,*e,*e,*e,*e]\n    allowHeaders: [*m,*m,*m,*m,*m,*m,*m,*m,*m,*m]\n${UPSTREAMS}`],
  ])('an alias bomb (%s) is refused quickly with one problem', (_name, text) => {
    const started = performance.now();
    const problems = problemsOf(text);
    expect(performance.now() - started).toBeLessThan(500);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/alias/i);
  });

  it.each([
    ['a duplicate key', `server: { port: 1 }\nserver: { port: 2 }\n${UPSTREAMS}`, /^server$/, /twice/],
    ['a duplicate nested key', `server:\n  port: 1\n  port: 2\n${UPSTREAMS}`, /^server\.port$/, /twice/],
    ['an unclosed flow map', `upstreams: {\n`, /^line \d+:\d+$/, /YAML syntax/],
    ['a tab indentation', `server:\n\tport: 1\n${UPSTREAMS}`, /^line \d+:\d+$/, /YAML syntax/],
    ['an undefined alias', `server: *nothing\n${UPSTREAMS}`, /^$/, /YAML: Unresolved alias/],
    ['an unknown tag', `server: !!js/function "x"\n${UPSTREAMS}`, /./, /./],
  ])('%s gives a clear problem with its place', (_name, text, path, message) => {
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems[0]!.path).toMatch(path);
    expect(problems[0]!.message).toMatch(message);
  });

  it('a file over the size cap is refused before it is parsed', () => {
    const text = `${UPSTREAMS}# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`;
    const problems = problemsOf(text);
    expect(problems[0]!.message).toMatch(/at most 1048576/);
  });

  it('config check: an alias bomb is exit 1 with one clear line, no stack trace, quickly', async () => {
    const ok = join(dir, 'ok.yaml');
    const bomb = join(dir, 'bomb.yaml');
    writeFileSync(ok, UPSTREAMS);
    writeFileSync(bomb, aliasBomb(12, 10, 'seq'));
    // The CLI's own start-up (tsx) is the floor: the bomb may cost little more than that.
    let t = performance.now();
    const good = await runCli(['config', 'check', '--config', ok]);
    const baseline = performance.now() - t;
    expect(good.code).toBe(0);
    t = performance.now();
    const bad = await runCli(['config', 'check', '--config', bomb]);
    const elapsed = performance.now() - t;
    expect(bad.code).toBe(1);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const lines = bad.stderr.trim().split('\n');
    expect(lines).toHaveLength(2); // "<file>: invalid configuration" + the one problem
    expect(lines[1]).toMatch(/^\s+\(root\): YAML aliases expand too far/);
    // Generous for a loaded CI machine; an expanding bomb takes minutes or runs out of memory.
    expect(elapsed).toBeLessThan(Math.max(baseline * 2, baseline + 2000));
  }, 60_000);

  it('config check: a huge file is exit 1 without reading it into memory', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `${UPSTREAMS}#${' '.repeat(MAX_CONFIG_BYTES * 4)}\n`);
    const res = await runCli(['config', 'check', '--config', big]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/at most 1048576/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('auth.jwt.secret: at least the hash size (RFC 7518 §3.2)', () => {
  const jwtConfig = (algorithms: string[], secret: string) => stringify({ auth: { jwt: { algorithms, secret } }, upstreams: { echo: { targets: [{ url: 'http://127.0.0.1:9' }] } } });
  const cases: Array<[string[], number, boolean]> = [
    [['HS256'], 1, false],
    [['HS256'], 31, false],
    [['HS256'], 32, true],
    [['HS384'], 47, false],
    [['HS384'], 48, true],
    [['HS512'], 63, false],
    [['HS512'], 64, true],
    [['HS256', 'HS512'], 40, false], // the strictest algorithm sets the floor
    [['HS256', 'HS512'], 64, true],
    [['HS256', 'RS256'], 16, false],
  ];
  it.each(cases)('%j with a %d-byte secret: accepted %s', (algorithms, length, ok) => {
    const secret = 'Z'.repeat(length);
    const text = algorithms.includes('RS256')
      ? stringify({ auth: { jwt: { algorithms, secret, jwksUrl: 'https://idp.example/jwks' } }, upstreams: { echo: { targets: [{ url: 'http://127.0.0.1:9' }] } } })
      : jwtConfig(algorithms, secret);
    if (ok) return void expect(() => parseConfig(text, {})).not.toThrow();
    const problems = problemsOf(text);
    expect(problems.map((p) => p.path)).toEqual(['auth.jwt.secret']);
    expect(problems[0]!.message).toContain(`got ${length}`);
    expect(problems[0]!.message).not.toContain(secret); // the secret is never echoed
  });

  it('counts UTF-8 bytes, not characters: 16 two-byte characters are 32 bytes', () => {
    expect(() => parseConfig(jwtConfig(['HS256'], 'é'.repeat(16)), {})).not.toThrow();
    expect(problemsOf(jwtConfig(['HS256'], 'é'.repeat(15)))[0]!.path).toBe('auth.jwt.secret');
  });

  it('a secret from the environment is checked after interpolation', () => {
    const text = jwtConfig(['HS256'], '${JWT_SECRET}');
    expect(() => parseConfig(text, { JWT_SECRET: 'x'.repeat(32) })).not.toThrow();
    expect(() => parseConfig(text, { JWT_SECRET: 'short' })).toThrow(/auth\.jwt\.secret: HS256 needs a secret of at least 32 bytes/);
  });
});

describe('auth.jwt.publicKey: a PEM SPKI key that fits the algorithms', () => {
  const spki = (type: string, opts: Record<string, unknown>) =>
    (generateKeyPairSync as any)(type, { ...opts, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }) as { publicKey: string; privateKey: string };
  let keys: Record<string, { publicKey: string; privateKey: string }>;
  beforeAll(() => {
    keys = {
      rsa2048: spki('rsa', { modulusLength: 2048 }),
      rsa1024: spki('rsa', { modulusLength: 1024 }),
      pss2048: spki('rsa-pss', { modulusLength: 2048 }),
      p256: spki('ec', { namedCurve: 'P-256' }),
      p384: spki('ec', { namedCurve: 'P-384' }),
      p521: spki('ec', { namedCurve: 'P-521' }),
      secp256k1: spki('ec', { namedCurve: 'secp256k1' }),
      ed25519: spki('ed25519', {}),
      x25519: spki('x25519', {}),
    };
  });
  const text = (algorithms: string[], publicKey: string) => stringify({ auth: { jwt: { algorithms, publicKey } }, upstreams: { echo: { targets: [{ url: 'http://127.0.0.1:9' }] } } });

  it.each([
    [['RS256'], 'rsa2048'], [['RS512'], 'rsa2048'], [['PS256'], 'rsa2048'], [['PS384'], 'pss2048'],
    [['ES256'], 'p256'], [['ES384'], 'p384'], [['ES512'], 'p521'], [['EdDSA'], 'ed25519'],
    [['ES256', 'RS256'], 'rsa2048'], // fits one of them
  ])('%j with a %s key is accepted', (algorithms, key) => {
    expect(() => parseConfig(text(algorithms, keys[key]!.publicKey), {})).not.toThrow();
  });

  it.each([
    [['RS256'], 'rsa1024', /at least 2048 bits/],
    [['RS256'], 'pss2048', /needs an RSA key/],
    [['RS256'], 'p256', /needs an RSA key/],
    [['ES256'], 'p384', /ES256 needs an EC key on prime256v1/],
    [['ES384'], 'rsa2048', /needs an EC key/],
    [['ES256'], 'secp256k1', /prime256v1/],
    [['EdDSA'], 'p256', /Ed25519/],
    [['EdDSA'], 'x25519', /Ed25519/],
    [['RS256', 'ES256'], 'ed25519', /fits none/],
  ])('%j with a %s key is refused at auth.jwt.publicKey', (algorithms, key, message) => {
    const problems = problemsOf(text(algorithms, keys[key]!.publicKey));
    expect(problems.map((p) => p.path)).toEqual(['auth.jwt.publicKey']);
    expect(problems[0]!.message).toMatch(message);
  });

  it.each([
    ['a word', () => 'not-a-key'],
    ['base64 without armor', () => keys.p256!.publicKey.split('\n').slice(1, -2).join('')],
    ['armor around garbage', () => '-----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----\n'],
    ['a PKCS#1 RSA PUBLIC KEY block', () => keys.rsa2048!.publicKey.replace(/PUBLIC KEY/g, 'RSA PUBLIC KEY')],
    ['a certificate armor', () => keys.p256!.publicKey.replace(/PUBLIC KEY/g, 'CERTIFICATE')],
    ['trailing text after the key', () => `${keys.p256!.publicKey}extra`],
    ['a JWK', () => '{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}'],
  ])('%s is not a PEM public key', (_name, key) => {
    const problems = problemsOf(text(['ES256'], key()));
    expect(problems.map((p) => p.path)).toEqual(['auth.jwt.publicKey']);
    expect(problems[0]!.message).toMatch(/PEM public key/);
  });

  it('a private key is refused by name', () => {
    for (const k of ['rsa2048', 'p256', 'ed25519']) {
      const problems = problemsOf(text(['RS256', 'ES256', 'EdDSA'], keys[k]!.privateKey));
      expect(problems[0]).toMatchObject({ path: 'auth.jwt.publicKey', message: expect.stringMatching(/private key/) });
    }
  });

  it('a public key with only HS algorithms configured is refused', () => {
    const problems = problemsOf(stringify({ auth: { jwt: { algorithms: ['HS256'], secret: 'x'.repeat(32), publicKey: keys.p256!.publicKey } }, upstreams: { echo: { targets: [{ url: 'http://127.0.0.1:9' }] } } }));
    expect(problems.map((p) => p.path)).toEqual(['auth.jwt.publicKey']);
  });
});

describe('property: the loader throws nothing but ConfigError', () => {
  const onlyConfigErrors = (text: string) => {
    try {
      parseConfig(text, {});
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      expect(err.problems.length).toBeGreaterThan(0);
    }
  };

  it('for any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), onlyConfigErrors), { numRuns: 300 });
  });

  it('for YAML-shaped text built from anchors, aliases, tags, nesting and placeholders', () => {
    const token = fc.constantFrom('&a ', '*a', '&b ', '*b', '[', ']', '{', '}', ': ', ', ', '\n', '  ', '- ', '!!str ', '!!binary ', '!!map ', '? ', '<<: ', '${X}', '${Y:-1}', '"', "'", '#', '|', '>', 'upstreams', 'server', 'port', '0', '1e400', 'null', '~', '---\n', '...\n', '%YAML 1.1\n');
    fc.assert(fc.property(fc.array(token, { maxLength: 60 }), (parts) => onlyConfigErrors(parts.join(''))), { numRuns: 400 });
  });

  it('for any JSON-like value serialised as YAML, at any nesting', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 6 }), (v) => {
      let text: string;
      try {
        text = stringify(v);
      } catch {
        return; // not representable as YAML: nothing to load
      }
      onlyConfigErrors(text);
    }), { numRuns: 300 });
  });

  it('for nesting deeper than any parser should recurse', () => {
    for (const depth of [1_000, 10_000, 100_000]) {
      onlyConfigErrors(`${'['.repeat(depth)}${']'.repeat(depth)}\n`);
      onlyConfigErrors(`upstreams: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`);
    }
  }, 30_000);
});
