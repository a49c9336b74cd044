/** The plain-text summary printed at the end of a run: one table of modes, one of targets. */
import { e2eSummary } from './e2e/summary.js';
import { cell } from './format.js';
import type { BenchReport, MicroResult, ModeResult } from './types.js';

/** `right`: indexes of the columns aligned right (numbers); the others align left. */
function table(header: string[], rows: string[][], right: number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function modeRow(r: ModeResult): string[] {
  const h = r.headline;
  const name = `${r.scenario} w=${r.workers}`;
  if (r.status !== 'ok') return [name, `${r.status}: ${(r.message ?? '').split('\n', 1)[0]!.slice(0, 100)}`];
  if (r.scenario === 'initial-list') {
    return [
      name,
      `fill ${cell(h.fillMs)} ms; last bookmark ${cell(h.timeToBookmarkMaxMs)} ms; loop delay p99 ${cell(h.loopDelayP99Ms, 1)} ms; peak RSS ${cell(h.peakRssMiB)} MiB${contended(h.foreignCpuPct) === '' ? '' : `; ${contended(h.foreignCpuPct)}`}`,
    ];
  }
  if (r.scenario === 'window-burst') {
    return [name, `410s ${cell(h.gone410)} (watchers up to windowSeconds behind); peak window ${cell(h.peakWindowMiB)} MiB; young evictions ${cell(h.shortWindowEvictions)}`];
  }
  const parts = [
    r.scenario === 'kubelet' ? `best step ${h.bestRate === null ? 'none' : `${cell(h.bestRate)} w/s`} (peak ${cell(h.peakDeliveriesPerSec)} deliveries/s)` : '',
    `events ${cell(h.eventsPerSec)}/s`,
    `deliveries ${cell(h.deliveriesPerSec)}/s`,
    `p50/p99 ${cell(h.latencyP50Ms, 1)}/${cell(h.latencyP99Ms, 1)} ms`,
    `CPU ${cell(h.cpuUsPerDelivery, 2)} µs/deliv (main ${cell(h.mainCpuUsPerDelivery, 2)})`,
    `ELU ${cell(h.mainElu, 2)}`,
    `delay p99 ${cell(h.loopDelayP99Ms, 1)} ms`,
    r.scenario === 'kubelet' ? `heap/idle watcher ${cell(h.heapPerIdleWatcherBytes)} B` : '',
    contended(h.foreignCpuPct),
  ];
  return [name, parts.filter((p) => p !== '').join('; ')];
}

/** Flags a window during which other processes used a fifth of a core or more. */
function contended(foreignPct: number | null | undefined): string {
  return foreignPct !== null && foreignPct !== undefined && foreignPct >= 20 ? `(!) other processes used ${cell(foreignPct)}% of a core` : '';
}

function microRows(micro: MicroResult): string[][] {
  return micro.suites.flatMap((s) => s.cases.map((c) => [`${s.name}: ${c.name}`, `${cell(c.usPerItem, 3)} µs/item`, `${cell(c.itemsPerSec)}/s`, `±${cell(c.marginPct, 1)}%`]));
}

export function summaryText(report: BenchReport): string {
  const out: string[] = [];
  if (report.micro !== null) {
    out.push('Micro-benchmarks');
    out.push(report.micro.status === 'ok' ? table(['case', 'cost', 'rate', 'margin'], microRows(report.micro), [1, 2, 3]) : `failed: ${report.micro.message ?? ''}`);
    out.push('');
  }
  const modes = Object.values(report.scenarios).flatMap((m) => Object.values(m));
  if (modes.length > 0) {
    out.push('Scenarios');
    out.push(table(['mode', 'result'], modes.map(modeRow)));
    out.push('');
  }
  if (report.e2e !== null) {
    out.push(e2eSummary(report.e2e, table));
    out.push('');
  }
  if (report.targets.length > 0) {
    out.push(`Targets${report.profile === 'full' ? '' : ` (${report.profile} profile: reduced sizes, indicative only)`}`);
    out.push(
      table(
        ['target', 'bound', 'measured', 'verdict', 'note'],
        report.targets.map((t) => [t.description, t.bound, t.measured === null ? '-' : `${cell(t.measured, t.unit === 'x' ? 2 : 0)} ${t.unit}`, t.status, t.note]),
        [2],
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
