/**
 * `gateway token`: mints a development token signed with the HS* secret of a config (or
 * `--secret`), carrying the config's issuer and audience, so a local gateway accepts it.
 * Asymmetric keys belong to the identity provider; this command never handles them.
 */
import type { Command } from 'commander';
import type { CliIO } from './common.js';
import { EXIT_INVALID, EXIT_OK, reportFailure } from './common.js';
import { loadConfigFile } from '../config/load.js';
import { DEFAULT_CONFIG } from '../paths.js';

interface TokenOptions {
  sub: string;
  roles?: string;
  ttl: string;
  config?: string;
  secret?: string;
  alg?: string;
  claim?: string[];
}

export function registerTokenCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('token')
    .description('mint a development JWT (HS*) that the configured gateway accepts')
    .requiredOption('--sub <id>', 'subject (user id)')
    .option('--roles <list>', 'comma-separated roles')
    .option('--ttl <duration>', 'lifetime, e.g. 15m, 1h, 7d', '1h')
    .option('--config <file>', 'config file whose auth.jwt secret/issuer/audience to use', DEFAULT_CONFIG)
    .option('--secret <secret>', 'HS secret (overrides the config)')
    .option('--alg <alg>', 'HS256, HS384 or HS512')
    .option('--claim <k=v...>', 'extra claims')
    .action(async (opts: TokenOptions) => {
      let jwt: { secret?: string; issuer?: string; audience?: string | string[]; algorithms?: string[]; rolesClaim?: string } = {};
      if (!opts.secret) {
        try {
          jwt = loadConfigFile(opts.config ?? DEFAULT_CONFIG).config.auth.jwt ?? {};
        } catch (err) {
          setExit(reportFailure(err, io));
          return;
        }
      }
      const secret = opts.secret ?? jwt.secret;
      const alg = opts.alg ?? jwt.algorithms?.find((a) => a.startsWith('HS')) ?? 'HS256';
      if (!secret || !alg.startsWith('HS')) {
        io.err.write('no HS secret: pass --secret, or use a config whose auth.jwt has an HS* algorithm and a secret\n');
        setExit(EXIT_INVALID);
        return;
      }
      const claims: Record<string, unknown> = {};
      for (const kv of opts.claim ?? []) {
        const eq = kv.indexOf('=');
        if (eq > 0) claims[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      if (opts.roles) claims[jwt.rolesClaim ?? 'roles'] = opts.roles.split(',').map((r) => r.trim()).filter(Boolean);
      const { SignJWT } = await import('jose');
      let token = new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).setSubject(opts.sub).setIssuedAt().setExpirationTime(opts.ttl);
      if (jwt.issuer) token = token.setIssuer(jwt.issuer);
      if (jwt.audience) token = token.setAudience(jwt.audience);
      io.out.write(`${await token.sign(new TextEncoder().encode(secret))}\n`);
      setExit(EXIT_OK);
    });
}
