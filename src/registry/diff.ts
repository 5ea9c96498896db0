/**
 * Schema changes between two SDLs, classified by @graphql-inspector/core: BREAKING (a client
 * can break), DANGEROUS (behaviour may change for clients), SAFE.
 */
import { buildSchema } from 'graphql';
import type { CriticalityLevel } from '@graphql-inspector/core';

export type Severity = 'BREAKING' | 'DANGEROUS' | 'SAFE';

export interface SchemaChange {
  severity: Severity;
  /** Schema coordinate, e.g. `User.email` or `Query.user.id`. */
  coordinate: string;
  message: string;
  type: string;
}

// graphql-inspector's CriticalityLevel values; the library itself loads only when a diff is asked for.
const SEVERITY: Record<`${CriticalityLevel}`, Severity> = { BREAKING: 'BREAKING', DANGEROUS: 'DANGEROUS', NON_BREAKING: 'SAFE' };

const ORDER: Record<Severity, number> = { BREAKING: 0, DANGEROUS: 1, SAFE: 2 };

export async function diffSdl(oldSdl: string, newSdl: string): Promise<SchemaChange[]> {
  const { diff } = await import('@graphql-inspector/core');
  const changes = await diff(buildSchema(oldSdl), buildSchema(newSdl));
  return changes
    .map((c) => ({ severity: SEVERITY[c.criticality.level], coordinate: c.path ?? '', message: c.message, type: String(c.type) }))
    .sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || a.coordinate.localeCompare(b.coordinate));
}

export function formatChange(c: SchemaChange): string {
  return `${c.severity.padEnd(9)} ${c.coordinate.padEnd(32)} ${c.message}`;
}
