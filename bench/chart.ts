/**
 * The HTML report: one self-contained file (inline SVG bar charts and tables, no script, no
 * external assets) that opens anywhere, including from a CI artifact.
 */
import { e2eHeadlines } from './e2e/headline.js';
import { cell } from './format.js';
import type { BenchReport, ModeResult, ScenarioName } from './types.js';

interface Bar {
  label: string;
  /** null: no bar, `text` explains (unavailable, failed, not held). */
  value: number | null;
  text?: string;
  color?: string;
}

const MODE_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2'];
const WIDTH = 900;
const LABEL_W = 360;
const BAR_W = 400;
const ROW_H = 22;

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function barChart(title: string, unit: string, bars: Bar[]): string {
  if (bars.length === 0) return '';
  const max = Math.max(...bars.map((b) => b.value ?? 0), Number.MIN_VALUE);
  const height = 34 + bars.length * ROW_H;
  const rows = bars.map((b, i) => {
    const y = 28 + i * ROW_H;
    const label = `<text x="${LABEL_W - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`;
    if (b.value === null) return `${label}<text x="${LABEL_W}" y="${y + 15}" class="na">${esc(b.text ?? 'n/a')}</text>`;
    const w = Math.max(1, (b.value / max) * BAR_W);
    const value = `${cell(b.value, b.value < 10 ? 2 : 0)} ${unit}${b.text === undefined ? '' : ` (${b.text})`}`;
    return `${label}<rect x="${LABEL_W}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" fill="${b.color ?? MODE_COLORS[0]}"/><text x="${LABEL_W + w + 6}" y="${y + 15}">${esc(value)}</text>`;
  });
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(title)}"><text x="0" y="16" class="title">${esc(title)}</text>${rows.join('')}</svg></figure>`;
}

function modes(report: BenchReport, scenario: ScenarioName): ModeResult[] {
  return Object.values(report.scenarios[scenario] ?? {}).sort((a, b) => a.workers - b.workers);
}

function color(workers: number): string {
  return MODE_COLORS[workers % MODE_COLORS.length]!;
}

function missing(r: ModeResult): Bar {
  return { label: `workers=${r.workers}`, value: null, text: `${r.status}${r.message === undefined ? '' : `: ${r.message.split('\n', 1)[0]!.slice(0, 90)}`}` };
}

function kubeletCharts(report: BenchReport): string {
  const results = modes(report, 'kubelet');
  if (results.length === 0) return '';
  const best: Bar[] = results.map((r) =>
    r.status !== 'ok'
      ? missing(r)
      : r.headline.bestRate === null
        ? { label: `workers=${r.workers}`, value: null, text: 'no step held' }
        : { label: `workers=${r.workers}`, value: r.headline.deliveriesPerSec ?? null, text: `at ${r.headline.bestRate} writes/s`, color: color(r.workers) },
  );
  const steps: Bar[] = [];
  const p99: Bar[] = [];
  for (const r of results) {
    if (r.status !== 'ok' || r.detail?.scenario !== 'kubelet') continue;
    for (const s of r.detail.steps) {
      const label = `w=${r.workers} step ${s.targetRate}/s`;
      const held = s.sustained ? 'held' : 'broke';
      steps.push({ label, value: s.deliveriesPerSec, text: held, color: color(r.workers) });
      p99.push({ label, value: s.latency.p99Ms, text: held, color: color(r.workers) });
    }
  }
  const heap: Bar[] = results.map((r) =>
    r.status !== 'ok' ? missing(r) : { label: `workers=${r.workers}`, value: r.headline.heapPerIdleWatcherBytes ?? null, color: color(r.workers) },
  );
  return [
    barChart('kubelet: deliveries/s at the best sustained step', '/s', best),
    barChart('kubelet: deliveries/s per step', '/s', steps),
    barChart('kubelet: commit→delivery p99 per step', 'ms', p99),
    barChart('heap per idle watcher (main isolate)', 'B', heap),
  ].join('');
}

function selectorCharts(report: BenchReport): string {
  const results = modes(report, 'selector-heavy');
  return barChart(
    'selector-heavy: sustained events/s',
    '/s',
    results.map((r) => (r.status !== 'ok' ? missing(r) : { label: `workers=${r.workers}`, value: r.headline.eventsPerSec ?? null, color: color(r.workers) })),
  );
}

function initialListCharts(report: BenchReport): string {
  const bookmark: Bar[] = [];
  const delay: Bar[] = [];
  for (const r of modes(report, 'initial-list')) {
    if (r.status !== 'ok' || r.detail?.scenario !== 'initial-list') {
      bookmark.push(missing(r));
      continue;
    }
    for (const phase of r.detail.phases) {
      const label = `w=${r.workers}, ${phase.watchers} watcher(s)`;
      const times = phase.timeToBookmarkMs.filter((t): t is number => t !== null);
      bookmark.push({ label, value: times.length === phase.watchers ? Math.max(...times) : null, text: times.length === phase.watchers ? 'last watcher' : 'bookmark missing', color: color(r.workers) });
      delay.push({ label, value: phase.window.loopDelayP99Ms, color: color(r.workers) });
    }
  }
  return barChart('initial list: time to the initial-events-end bookmark', 'ms', bookmark) + barChart('initial list: main-thread event-loop delay p99', 'ms', delay);
}

function e2eCharts(report: BenchReport): string {
  if (report.e2e === null) return '';
  const headlines = e2eHeadlines(report.e2e);
  const charts: string[] = [];
  for (const mix of ['all', 'kubelet'] as const) {
    const rows = headlines.filter((h) => h.mix === mix);
    if (rows.length === 0) continue;
    const bar = (value: (h: (typeof rows)[number]) => number | null, text: (h: (typeof rows)[number]) => string | undefined): Bar[] =>
      rows.map((h, i) => {
        if (h.status !== 'ok') return { label: h.system, value: null, text: h.status };
        if (h.best === null) return { label: h.system, value: null, text: `no step held${h.broke === null ? '' : `: ${(h.broke.brokeBecause[0] ?? '').slice(0, 80)}`}` };
        const t = text(h);
        return { label: h.system, value: value(h), color: MODE_COLORS[i % MODE_COLORS.length]!, ...(t === undefined ? {} : { text: t }) };
      });
    const ratio = (x: number | null): string => (x === null ? '-' : `${cell(x, 2)}×`);
    charts.push(
      barChart(`end to end, ${mix} mix: sustained deliveries/s`, '/s', bar((h) => h.best!.deliveriesPerSec, (h) => `at ${h.best!.rate} writes/s; ${ratio(h.vs.floor.deliveries)} floor`)),
      barChart(
        `end to end, ${mix} mix: server CPU per delivery at the sustained step (front + store)`,
        'µs',
        bar((h) => h.best!.serverUsPerDelivery, (h) => `${cell(h.best!.frontUsPerDelivery, 2)} + ${cell(h.best!.storeUsPerDelivery, 2)}`),
      ),
      barChart(`end to end, ${mix} mix: write→delivery p99 at the sustained step`, 'ms', bar((h) => h.best!.p99Ms, () => undefined)),
    );
  }
  return charts.join('');
}

function microCharts(report: BenchReport): string {
  return (report.micro?.suites ?? []).map((s) => barChart(`micro: ${s.name} (µs per item)`, 'µs', s.cases.map((c) => ({ label: c.name, value: c.usPerItem })))).join('');
}

function targetsTable(report: BenchReport): string {
  const rows = report.targets.map(
    (t) =>
      `<tr class="${t.status.replace('/', '')}"><td>${esc(t.description)}</td><td>${esc(t.bound)}</td><td>${t.measured === null ? '-' : esc(`${cell(t.measured, t.unit === 'x' ? 2 : 0)} ${t.unit}`)}</td><td>${t.status}</td><td>${esc(t.note)}</td></tr>`,
  );
  return `<table><thead><tr><th>target</th><th>bound</th><th>measured</th><th></th><th>note</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function toHtml(report: BenchReport): string {
  const m = report.machine;
  const caveat = report.profile === 'full' ? '' : `<p class="warn">${esc(report.profile)} profile: reduced sizes; the verdicts below are indicative only.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>watchcache benchmark ${esc(report.startedAt)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:960px}
svg text{font:12px system-ui,sans-serif;fill:#222} svg text.title{font-weight:600;font-size:14px} svg text.na{fill:#999;font-style:italic}
table{border-collapse:collapse;margin:12px 0} td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
tr.PASS td:nth-child(4){color:#1a7f37;font-weight:600} tr.MISS td:nth-child(4){color:#cf222e;font-weight:600} tr.NA td:nth-child(4){color:#888}
.warn{color:#9a6700} figure{margin:16px 0}
</style></head><body>
<h1>watchcache benchmark</h1>
<p>${esc(report.startedAt)} · profile ${esc(report.profile)} · node ${esc(m.node)} · ${m.cpus} × ${esc(m.cpuModel)} · ${Math.round(m.totalMemMiB)} MiB${m.gitSha === null ? '' : ` · ${esc(m.gitSha.slice(0, 12))}`}</p>
${caveat}
<h2>Targets</h2>
${targetsTable(report)}
<h2>Scenarios</h2>
${kubeletCharts(report)}${selectorCharts(report)}${initialListCharts(report)}${e2eCharts(report)}
<h2>Micro-benchmarks</h2>
${microCharts(report)}
</body></html>
`;
}
