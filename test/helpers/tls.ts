/**
 * Test-only certificates, made at runtime with the openssl CLI (no private key is committed):
 * a CA, server certificates for 127.0.0.1 / localhost signed by it, client certificates, and a
 * second, untrusted CA with a client of its own. Everything is written to a fresh temp folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  /** Absolute paths of the PEM files, by name: `ca.pem`, `server.pem`, `server-key.pem`, … */
  path(name: string): string;
  read(name: string): Buffer;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir: string, name: string, cn: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`]);
}

/** A leaf signed by `issuer`; `san` is an openssl subjectAltName value, `subject` an openssl -subj. */
function leaf(dir: string, name: string, issuer: string, subject: string, san: string | undefined, usage: 'serverAuth' | 'clientAuth'): void {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject]);
  const ext = [`extendedKeyUsage=${usage}`, ...(san ? [`subjectAltName=${san}`] : [])].join('\n');
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}-key.pem`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'gw-pki-'));
  ca(dir, 'ca', 'Gateway Test CA');
  ca(dir, 'other-ca', 'Untrusted Test CA');
  const local = 'IP:127.0.0.1,DNS:localhost';
  leaf(dir, 'server', 'ca', '/CN=gateway-one', local, 'serverAuth');
  leaf(dir, 'server2', 'ca', '/CN=gateway-two', local, 'serverAuth');
  leaf(dir, 'upstream', 'ca', '/CN=upstream.test', 'DNS:upstream.test,IP:127.0.0.1', 'serverAuth');
  leaf(dir, 'client', 'ca', '/CN=client-a/O=Test', undefined, 'clientAuth');
  leaf(dir, 'spiffe', 'ca', '/O=NoCommonName', 'URI:spiffe://test/ns/shop/sa/orders', 'clientAuth');
  leaf(dir, 'gateway-client', 'ca', '/CN=gateway', undefined, 'clientAuth');
  // No CN; a DNS name written before the URI (the identity is picked by kind, not by order).
  leaf(dir, 'multi-san', 'ca', '/O=NoCommonName', 'DNS:multi.internal,email:multi@example.com,URI:spiffe://test/ns/shop/sa/multi', 'clientAuth');
  leaf(dir, 'stranger', 'other-ca', '/CN=stranger', undefined, 'clientAuth');
  return {
    dir,
    path: (name) => join(dir, name),
    read: (name) => readFileSync(join(dir, name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
