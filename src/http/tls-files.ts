/**
 * Reads the PEM files the config names for TLS (the listener's `server.tls`, an upstream's
 * `tls`) and checks they make a usable secure context. Every failure is a ConfigError naming
 * the key path and the file, so a bad certificate at start-up or on reload reads like any other
 * config problem (and a reload keeps the serving certificate).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError, type ConfigProblem } from '../config/load.js';
import type { GatewayConfig, ServerTlsConfig, UpstreamTlsConfig } from '../config/schema.js';

/** Largest PEM file read: a certificate chain or CA bundle is a few KiB; a large system bundle is under 1 MiB. */
const MAX_PEM_BYTES = 4 * 1024 * 1024;

function readPem(baseDir: string, file: string, keyPath: string): Buffer {
  const abs = resolve(baseDir, file);
  let data: Buffer;
  try {
    data = readFileSync(abs);
  } catch (err) {
    throw new ConfigError([{ path: keyPath, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  if (data.length > MAX_PEM_BYTES) throw new ConfigError([{ path: keyPath, message: `${file} is ${data.length} bytes; a PEM file is at most ${MAX_PEM_BYTES}` }]);
  if (!data.includes('-----BEGIN ')) throw new ConfigError([{ path: keyPath, message: `${file} is not a PEM file (no -----BEGIN line)` }]);
  return data;
}

/** Fails with the key path when OpenSSL refuses the material (a key that does not match its certificate, a damaged PEM). */
function checkContext(opts: SecureContextOptions, keyPath: string): void {
  try {
    createSecureContext(opts);
  } catch (err) {
    throw new ConfigError([{ path: keyPath, message: `the certificate, key or CA cannot be used: ${(err as Error).message}` }]);
  }
}

/** What the listener's secure context is made of (and `setSecureContext` takes on reload). */
export interface ListenerTls {
  context: SecureContextOptions;
  /** Ask for a client certificate (verified against `context.ca`; unverified ones still connect and are refused by routes that need one). */
  requestCert: boolean;
  /** ALPN protocols offered, preferred first. */
  alpn: string[];
}

export function loadListenerTls(tls: ServerTlsConfig, baseDir: string): ListenerTls {
  const context: SecureContextOptions = {
    cert: readPem(baseDir, tls.cert, 'server.tls.cert'),
    key: readPem(baseDir, tls.key, 'server.tls.key'),
    minVersion: tls.minVersion,
  };
  if (tls.clientCa !== undefined) context.ca = readPem(baseDir, tls.clientCa, 'server.tls.clientCa');
  checkContext(context, 'server.tls');
  return {
    context,
    requestCert: tls.requestCert ?? tls.clientCa !== undefined,
    alpn: tls.http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
  };
}

/** TLS options for connections to one upstream's targets (undici `connect`, grpc-js `createSsl`). */
export interface UpstreamTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

export function loadUpstreamTls(name: string, tls: UpstreamTlsConfig, baseDir: string): UpstreamTls {
  const at = `upstreams.${name}.tls`;
  const out: UpstreamTls = { rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.ca !== undefined) out.ca = readPem(baseDir, tls.ca, `${at}.ca`);
  if (tls.cert !== undefined) out.cert = readPem(baseDir, tls.cert, `${at}.cert`);
  if (tls.key !== undefined) out.key = readPem(baseDir, tls.key, `${at}.key`);
  if (tls.servername !== undefined) out.servername = tls.servername;
  checkContext({ ca: out.ca, cert: out.cert, key: out.key }, at);
  return out;
}

/**
 * Reads every TLS file a loaded config names (listener and upstreams), for `config check`:
 * one ConfigError listing every file problem by key path, or nothing.
 */
export function checkTlsFiles(config: GatewayConfig, baseDir: string, file?: string): void {
  const problems: ConfigProblem[] = [];
  const collect = (load: () => unknown): void => {
    try {
      load();
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  };
  const tls = config.server.tls;
  if (tls) collect(() => loadListenerTls(tls, baseDir));
  for (const [name, u] of Object.entries(config.upstreams)) {
    const utls = u.tls;
    if (utls) collect(() => loadUpstreamTls(name, utls, baseDir));
  }
  if (problems.length) throw new ConfigError(problems, file);
}
