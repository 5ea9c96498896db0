/**
 * The error table of docs/errors.md and the error registry (src/errors.ts) must say the same thing:
 * every code with its HTTP status, nothing missing on either side.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listErrors } from '../src/errors.js';
import { ROOT } from './helpers/cli.js';

function documentedTable(): Map<string, number> {
  const readme = readFileSync(`${ROOT}/docs/errors.md`, 'utf8');
  const start = readme.indexOf('<!-- errors-table:start -->');
  const end = readme.indexOf('<!-- errors-table:end -->');
  expect(start).toBeGreaterThan(-1);
  const rows = new Map<string, number>();
  for (const line of readme.slice(start, end).split('\n')) {
    const m = /^\|\s*([A-Z_]+)\s*\|\s*(\d{3})\s*\|/.exec(line);
    if (m) rows.set(m[1]!, Number(m[2]));
  }
  return rows;
}

describe('error registry', () => {
  it('docs/errors.md lists exactly the registered codes with their statuses', () => {
    const registered = new Map(listErrors().map((e) => [e.code, e.status]));
    expect(Object.fromEntries(documentedTable())).toEqual(Object.fromEntries(registered));
  });

  it('includes every code CONTRACT section 4 names', () => {
    const codes = new Set(listErrors().map((e) => e.code));
    for (const c of ['NOT_FOUND', 'METHOD_NOT_ALLOWED', 'UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'PAYLOAD_TOO_LARGE', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'UPSTREAM_ERROR']) {
      expect(codes.has(c), c).toBe(true);
    }
  });
});
