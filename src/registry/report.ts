/**
 * What `schema check` prints: a table for people (colour only on a TTY), JSON for machines,
 * and a Markdown summary for CI job summaries. Also the git commit a publish records.
 */
import { execFileSync } from 'node:child_process';
import type { SchemaChange } from './diff.js';
import type { BrokenOperation } from './operations.js';

export interface CheckReport {
  registry: string;
  baseVersion: number | null;
  breaking: boolean;
  summary: Record<'BREAKING' | 'DANGEROUS' | 'SAFE', number>;
  changes: Array<SchemaChange & { usedBy?: string[] }>;
  operations: { checked: number; broken: BrokenOperation[] } | null;
}

const COLOUR = { BREAKING: '\x1b[31m', DANGEROUS: '\x1b[33m', SAFE: '\x1b[32m' } as const;

export function summarize(changes: SchemaChange[]): CheckReport['summary'] {
  const out = { BREAKING: 0, DANGEROUS: 0, SAFE: 0 };
  for (const c of changes) out[c.severity]++;
  return out;
}

export function renderText(r: CheckReport, tty: boolean): string {
  const lines: string[] = [];
  lines.push(r.baseVersion === null ? `${r.registry} has no published version: nothing to compare` : `comparing with version ${r.baseVersion} in ${r.registry}`);
  for (const c of r.changes) {
    const sev = tty ? `${COLOUR[c.severity]}${c.severity.padEnd(9)}\x1b[0m` : c.severity.padEnd(9);
    let line = `${sev} ${c.coordinate.padEnd(32)} ${c.message}`;
    if (r.operations && c.severity === 'BREAKING') line += c.usedBy?.length ? ` (used by ${c.usedBy.join(', ')})` : ' (no listed operation uses it)';
    lines.push(line);
  }
  lines.push(`${r.changes.length} change(s): ${r.summary.BREAKING} breaking, ${r.summary.DANGEROUS} dangerous, ${r.summary.SAFE} safe`);
  if (r.operations) {
    for (const b of r.operations.broken) lines.push(`BROKEN    operation ${b.operation} (${b.file}): ${b.errors.join('; ')}`);
    lines.push(`${r.operations.checked} client operation(s) checked, ${r.operations.broken.length} broken`);
  }
  return `${lines.join('\n')}\n`;
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

export function renderMarkdown(r: CheckReport): string {
  const icon = r.breaking ? '❌' : '✅';
  const out = [`## ${icon} Schema check`, '', r.baseVersion === null ? 'No published version to compare with.' : `Compared with version **${r.baseVersion}**.`, ''];
  out.push(`**${r.summary.BREAKING}** breaking, **${r.summary.DANGEROUS}** dangerous, **${r.summary.SAFE}** safe.`, '');
  if (r.changes.length) {
    out.push('| severity | coordinate | change |', '| --- | --- | --- |');
    for (const c of r.changes) out.push(`| ${c.severity} | \`${esc(c.coordinate)}\` | ${esc(c.message)} |`);
    out.push('');
  }
  if (r.operations) {
    out.push(`${r.operations.checked} client operation(s) checked, ${r.operations.broken.length} broken.`, '');
    for (const b of r.operations.broken) out.push(`- \`${esc(b.operation)}\` (${esc(b.file)}): ${esc(b.errors.join('; '))}`);
  }
  return `${out.join('\n')}\n`;
}

/** The commit being published: CI variables first, then git itself. */
export function currentCommit(): string | undefined {
  const env = process.env.GITHUB_SHA ?? process.env.CI_COMMIT_SHA ?? process.env.GIT_COMMIT;
  if (env) return env;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined;
  } catch {
    // Not a git checkout: the version simply records no commit.
    return undefined;
  }
}
