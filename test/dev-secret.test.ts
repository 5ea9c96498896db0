/**
 * A development JWT secret (one starting with "dev-only-", as the shipped demo config's default
 * does) warns at start-up and is refused when NODE_ENV=production, except for the in-process demo;
 * a reload cannot bring one in either.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { baseConfig, configFrom } from './helpers/gateway.js';
import { checkDevSecret } from '../src/auth/dev-secret.js';
import { serveGateway } from '../src/reload.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR } from './fixtures/domain/index.js';

const DEV = 'dev-only-a-secret-long-enough-for-hs256-0123';

function configWith(secret: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gw-devsecret-')), 'gateway.yaml');
  writeFileSync(file, stringify({ ...baseConfig(), logging: { level: 'info' }, auth: { jwt: { algorithms: ['HS256'], secret } } }));
  return file;
}

describe('development JWT secret', () => {
  it('NODE_ENV=production: `gateway start` refuses it, exit 1, before anything starts', async () => {
    const r = await runCli(['start', '--config', configWith(DEV), '--port', '0'], { env: { NODE_ENV: 'production' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/auth\.jwt\.secret is a development secret .*NODE_ENV is production: set JWT_SECRET/);
    expect(r.stdout).not.toMatch(/"msg":"listening"/);
  });

  it('warns outside production and for the demo; says nothing about a secret of your own', () => {
    const auth = (secret: string) => configFrom({ ...baseConfig(), auth: { jwt: { algorithms: ['HS256'], secret } } }).auth;
    expect(checkDevSecret(auth(DEV), { production: false, demo: false }).kind).toBe('warn');
    expect(checkDevSecret(auth(DEV), { production: true, demo: true }).kind).toBe('warn');
    expect(checkDevSecret(auth(DEV), { production: true, demo: false }).kind).toBe('refuse');
    expect(checkDevSecret(auth('a-real-secret-that-is-long-enough-0123456789'), { production: true, demo: false }).kind).toBe('none');
    expect(checkDevSecret(configFrom(baseConfig()).auth, { production: true, demo: false }).kind).toBe('none');
  });

  it('a reload that brings a development secret into production is refused; the running config keeps serving', async () => {
    const file = configWith('a-real-secret-that-is-long-enough-0123456789');
    const logs: Array<Record<string, any>> = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void logs.push(JSON.parse(s)) } });
    const served = await serveGateway({ configFile: file, port: 0, host: '127.0.0.1', logger, production: true, schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR });
    try {
      writeFileSync(file, stringify({ ...baseConfig(), auth: { jwt: { algorithms: ['HS256'], secret: DEV } } }));
      const r = await served.reload();
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toMatch(/auth\.jwt\.secret: is a development secret .*NODE_ENV is production/);
      expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
      expect(logs.some((l) => l.msg === 'reload refused: the running configuration keeps serving')).toBe(true);
    } finally {
      await served.close();
    }
  });
});
