/**
 * Turns a benchmark run into its three outputs: results.json (the report object itself), a
 * Markdown table for bench/README.md, and an SVG chart of req/s and p99 per system.
 */
import type { Ratio, Sample, SystemSummary } from './harness.js';

export interface ScenarioReport {
  id: string;
  title: string;
  /** The system the ratios are taken for (the gateway, or the gateway with JWT + limit). */
  lead: string;
  systems: SystemSummary[];
  ratios: Ratio[];
  skipped: Array<{ system: string; reason: string }>;
  samples: Sample[];
  /** Sequential requests on an idle machine state (no other load), per system, in µs. */
  unloaded?: Array<{ system: string; p50Us: number; p99Us: number }>;
}

export interface BenchReport {
  date: string;
  machine: { cpu: string; cores: number; memoryGb: number; node: string; os: string; shared: boolean };
  method: { connections: number; durationSec: number; warmupSec: number; rounds: number; interleaved: true; smoke: boolean; asShipped?: boolean };
  scenarios: ScenarioReport[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => n.toLocaleString('en-US');

export function renderMarkdown(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(`Run of ${r.date} on ${r.machine.cores} × ${r.machine.cpu}, ${r.machine.memoryGb} GB, Node ${r.machine.node}, ${r.machine.os}` +
    `${r.machine.shared ? ' (machine shared with other work during the run: treat figures as noisy)' : ''}.`);
  lines.push(`autocannon, ${r.method.connections} connections, ${r.method.durationSec} s per system per round after ${r.method.warmupSec} s of warm-up, ${r.method.rounds} interleaved round(s); figures are medians over rounds.${r.method.asShipped ? ' Gateway as shipped: NODE_ENV=production, access log on (config defaults), stdout a pipe the harness drains.' : ''}`);
  for (const s of r.scenarios) {
    lines.push('', `### ${s.id}: ${s.title}`, '');
    lines.push('| system | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB | upstream calls/req | bad responses |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const m of s.systems) {
      lines.push(`| ${m.system} | ${fmt(m.rps)} | ${m.p50} | ${m.p99} | ${m.cpuUsPerReq} | ${m.peakRssMb} | ${m.upstreamCallsPerReq ?? '–'} | ${m.bad} |`);
    }
    if (s.ratios.length) {
      lines.push('', `${s.lead} ÷ peer, req/s (median of per-round ratios; rounds in brackets) and p99:`, '');
      for (const q of s.ratios) lines.push(`- vs ${q.peer}: **${q.median}×** req/s [${q.perRound.join(', ')}], p99 ${q.p99Median}×`);
    }
    const direct = s.systems.find((m) => m.system === 'direct');
    const lead = s.systems.find((m) => m.system === s.lead);
    if (direct && lead) lines.push(`- added latency over the direct call under this load: p50 +${lead.p50 - direct.p50} ms, p99 +${lead.p99 - direct.p99} ms`);
    const quiet = s.unloaded;
    const qLead = quiet?.find((q) => q.system === s.lead);
    const qDirect = quiet?.find((q) => q.system === 'direct');
    if (quiet?.length) {
      lines.push(`- without load (one connection, requests one after another), p50 / p99 in µs: ${quiet.map((q) => `${q.system} ${q.p50Us} / ${q.p99Us}`).join('; ')}`);
      if (qLead && qDirect) lines.push(`- added latency over the direct call without load: p50 +${qLead.p50Us - qDirect.p50Us} µs, p99 +${qLead.p99Us - qDirect.p99Us} µs`);
    }
    for (const k of s.skipped) lines.push(`- skipped ${k.system}: ${k.reason}`);
  }
  return lines.join('\n');
}

const COLORS: Record<string, string> = { gateway: '#1f77b4' };
const PALETTE = ['#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#7f7f7f'];

/** Per scenario: horizontal bars of req/s (left) and p99 ms (right) for each system. */
export function renderSvg(r: BenchReport): string {
  const W = 860;
  const rowH = 22;
  const labelW = 170;
  const panelW = (W - labelW - 60) / 2;
  const parts: string[] = [];
  let y = 40;
  parts.push(`<text x="10" y="24" font-size="16" font-weight="bold">Gateway vs peers — req/s (higher is better) and p99 latency (lower is better)</text>`);
  const colorOf = new Map<string, string>();
  for (const s of r.scenarios) {
    if (!s.systems.length) continue;
    parts.push(`<text x="10" y="${y + 16}" font-size="13" font-weight="bold">${esc(`${s.id}: ${s.title}`)}</text>`);
    y += 20;
    parts.push(`<text x="${labelW}" y="${y + 10}" font-size="10" fill="#555">requests per second</text>` +
      `<text x="${labelW + panelW + 40}" y="${y + 10}" font-size="10" fill="#555">p99 latency</text>`);
    y += 14;
    const maxRps = Math.max(1, ...s.systems.map((m) => m.rps));
    const maxP99 = Math.max(1, ...s.systems.map((m) => m.p99));
    for (const m of s.systems) {
      if (!colorOf.has(m.system)) colorOf.set(m.system, COLORS[m.system] ?? PALETTE[colorOf.size % PALETTE.length]!);
      const color = colorOf.get(m.system)!;
      const wR = Math.max(1, (m.rps / maxRps) * (panelW - 70));
      const wP = Math.max(1, (m.p99 / maxP99) * (panelW - 70));
      const x2 = labelW + panelW + 40;
      parts.push(
        `<g class="bar" data-system="${esc(m.system)}" data-scenario="${s.id}">` +
          `<text x="${labelW - 8}" y="${y + 15}" font-size="12" text-anchor="end">${esc(m.system)}</text>` +
          `<rect x="${labelW}" y="${y + 3}" width="${wR.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>` +
          `<text x="${(labelW + wR + 4).toFixed(1)}" y="${y + 15}" font-size="11">${fmt(m.rps)} req/s</text>` +
          `<rect x="${x2}" y="${y + 3}" width="${wP.toFixed(1)}" height="${rowH - 6}" fill="${color}" fill-opacity="0.55"/>` +
          `<text x="${(x2 + wP + 4).toFixed(1)}" y="${y + 15}" font-size="11">p99 ${m.p99} ms</text>` +
          `</g>`,
      );
      y += rowH;
    }
    y += 12;
  }
  const note = `${r.date} · ${r.machine.cores} cores · Node ${r.machine.node} · ${r.method.connections} conns · ${r.method.durationSec} s × ${r.method.rounds} rounds${r.machine.shared ? ' · shared machine' : ''}`;
  parts.push(`<text x="10" y="${y + 14}" font-size="11" fill="#555">${esc(note)}</text>`);
  y += 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}

export const RESULTS_START = '<!-- bench:results:start -->';
export const RESULTS_END = '<!-- bench:results:end -->';

/** Replaces what stands between the result markers of bench/README.md. */
export function spliceReadme(readme: string, table: string): string {
  const a = readme.indexOf(RESULTS_START);
  const b = readme.indexOf(RESULTS_END);
  if (a === -1 || b < a) return `${readme.trimEnd()}\n\n${RESULTS_START}\n${table}\n${RESULTS_END}\n`;
  return `${readme.slice(0, a + RESULTS_START.length)}\n${table}\n${readme.slice(b)}`;
}
