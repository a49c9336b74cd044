/**
 * The CSV: one row per measured thing (a micro case, an idle-watcher reading, a kubelet step, a
 * selector-heavy run, an initial-list phase, an end-to-end step or final check, or a mode or
 * system that did not run), in one long table with
 * fixed columns, so it loads as is into a spreadsheet or pandas. Empty cell: not measured.
 */
import type { E2eResult, E2eStep } from './e2e/types.js';
import type { BenchReport, InitialListPhase, ModeResult, ThroughputRun, WindowMetrics } from './types.js';

export const CSV_COLUMNS = [
  'kind',
  'scenario',
  'workers',
  'status',
  'phase',
  'target_rate',
  'sustained',
  'kept_up',
  'events_per_s',
  'deliveries_per_s',
  'latency_p50_ms',
  'latency_p99_ms',
  'cpu_us_per_delivery',
  'main_cpu_us_per_delivery',
  'main_elu',
  'worker_elu',
  'worker_cpu_ms',
  'main_wait_ms',
  'foreign_cpu_ms',
  'acks_per_delivery',
  'loop_delay_p99_ms',
  'loop_delay_max_ms',
  'rss_mib',
  'heap_per_idle_watcher_b',
  'time_to_bookmark_p50_ms',
  'time_to_bookmark_max_ms',
  'peak_rss_mib',
  'ops_per_s',
  'us_per_item',
  'margin_pct',
  'mix',
  'server_cpu_us_per_delivery',
  'front_cpu_us_per_delivery',
  'store_cpu_us_per_delivery',
  'client_cpu_us_per_delivery',
  'writer_cpu_ms',
  'other_cpu_ms',
  'front_rss_mib',
  'store_rss_mib',
  'expected',
  'missing',
  'duplicates',
  'extra',
  'verified',
  'note',
] as const;

type Column = (typeof CSV_COLUMNS)[number];
type Row = Partial<Record<Column, string | number | boolean | null>>;

function windowCells(w: WindowMetrics): Row {
  const workerElu = w.workerElu === null ? null : w.workerElu.reduce((a, b) => a + b, 0) / w.workerElu.length;
  return {
    main_elu: w.mainElu,
    worker_elu: workerElu,
    worker_cpu_ms: w.workerThreadsCpuMs,
    main_wait_ms: w.mainThreadWaitMs,
    foreign_cpu_ms: w.foreignCpuMs,
    loop_delay_p99_ms: w.loopDelayP99Ms,
    loop_delay_max_ms: w.loopDelayMaxMs,
    rss_mib: w.rssMiB,
  };
}

function runRow(base: Row, phase: string, run: ThroughputRun): Row {
  return {
    ...base,
    phase,
    target_rate: run.targetRate,
    sustained: run.sustained,
    kept_up: run.keptUp,
    events_per_s: run.eventsPerSec,
    deliveries_per_s: run.deliveriesPerSec,
    latency_p50_ms: run.latency.p50Ms,
    latency_p99_ms: run.latency.p99Ms,
    cpu_us_per_delivery: run.cpuUsPerDelivery,
    main_cpu_us_per_delivery: run.mainCpuUsPerDelivery,
    ...windowCells(run.window),
    acks_per_delivery: run.deliveries === 0 ? null : run.acks / run.deliveries,
    note: run.brokeBecause.join('; '),
  };
}

function phaseRow(base: Row, phase: InitialListPhase): Row {
  const times = phase.timeToBookmarkMs.map((t) => t ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const p50 = times[Math.floor((times.length - 1) / 2)]!;
  const max = times[times.length - 1]!;
  return {
    ...base,
    phase: `${phase.watchers} watcher(s) initial list`,
    ...windowCells(phase.window),
    time_to_bookmark_p50_ms: Number.isFinite(p50) ? p50 : null,
    time_to_bookmark_max_ms: Number.isFinite(max) ? max : null,
    peak_rss_mib: phase.peakRssMiB,
  };
}

function modeRows(result: ModeResult): Row[] {
  const base: Row = { kind: 'scenario', scenario: result.scenario, workers: result.workers, status: result.status };
  const detail = result.detail;
  if (result.status !== 'ok' || detail === undefined) return [{ ...base, note: (result.message ?? '').split('\n', 1)[0]! }];
  switch (detail.scenario) {
    case 'kubelet':
      return [
        {
          ...base,
          phase: `${detail.idle.watchers} idle watchers`,
          heap_per_idle_watcher_b: detail.idle.heapPerWatcherBytes,
          note: `sink ${Math.round(detail.idle.sinkBytes)} B included; RSS ${Math.round(detail.idle.rssPerWatcherBytes)} B/watcher`,
        },
        ...detail.steps.map((step, i) => runRow(base, `step ${step.targetRate}/s${i === detail.best ? ' (best)' : ''}`, step)),
      ];
    case 'selector-heavy':
      return [runRow(base, 'max rate', detail.run)];
    case 'initial-list':
      return [{ ...base, phase: 'cache fill', note: `${detail.objects} objects in ${Math.round(detail.fillMs)} ms` }, ...detail.phases.map((p) => phaseRow(base, p))];
    case 'window-burst':
      return [
        {
          ...base,
          phase: `${detail.burstRate}/s burst for ${detail.burstSeconds} s`,
          note:
            `410s ${detail.gone410} of ${detail.watchers.length} watchers up to ${detail.windowSeconds} s behind; ` +
            `peak window ${Math.round(detail.peakWindowBytes / 1024 / 1024)} MiB; young evictions ${detail.shortWindowEvictions}`,
        },
      ];
    case 'sharded':
      return [runRow(base, `${detail.replicas} replicas × full stream`, detail.full.run), runRow(base, `${detail.replicas} shards`, detail.sharded.run)];
  }
}

function e2eStepRow(base: Row, step: E2eStep, best: boolean): Row {
  return {
    ...base,
    phase: `step ${step.rate}/s${best ? ' (best)' : ''}`,
    target_rate: step.rate,
    sustained: step.held,
    events_per_s: step.writeRate,
    deliveries_per_s: step.deliveriesPerSec,
    latency_p50_ms: step.p50Ms,
    latency_p99_ms: step.p99Ms,
    server_cpu_us_per_delivery: step.serverUsPerDelivery,
    front_cpu_us_per_delivery: step.frontUsPerDelivery,
    store_cpu_us_per_delivery: step.storeUsPerDelivery,
    client_cpu_us_per_delivery: step.clientUsPerDelivery,
    writer_cpu_ms: step.cpu.writerMs,
    foreign_cpu_ms: step.cpu.foreignMs,
    other_cpu_ms: step.cpu.otherMs,
    front_rss_mib: step.frontRssMiB,
    store_rss_mib: step.storeRssMiB,
    expected: step.expected,
    missing: step.missing,
    duplicates: step.duplicates,
    extra: step.extra,
    verified: step.verified,
    note: step.brokeBecause.join('; '),
  };
}

function e2eRows(e2e: E2eResult): Row[] {
  const rows: Row[] = [];
  for (const s of e2e.systems) {
    const system: Row = { kind: 'e2e', scenario: s.system, status: s.status };
    if (s.status !== 'ok' && Object.keys(s.mixes).length === 0) rows.push({ ...system, note: (s.message ?? '').split('\n', 1)[0]! });
    for (const m of Object.values(s.mixes)) {
      const base: Row = { ...system, status: m.status, mix: m.mix };
      if (m.status !== 'ok') rows.push({ ...base, note: (m.message ?? '').split('\n', 1)[0]! });
      rows.push(...m.steps.map((step, i) => e2eStepRow(base, step, i === m.best)));
      if (m.final !== null) {
        const f = m.final;
        rows.push({ ...base, phase: 'final check', expected: f.expected, missing: f.missing, duplicates: f.duplicates, extra: f.extra, verified: f.verified, note: f.firstError ?? '' });
      }
    }
  }
  return rows;
}

function escape(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(report: BenchReport): string {
  const rows: Row[] = [];
  for (const suite of report.micro?.suites ?? []) {
    for (const c of suite.cases) {
      rows.push({ kind: 'micro', scenario: suite.name, status: 'ok', phase: c.name, ops_per_s: c.opsPerSec, us_per_item: c.usPerItem, margin_pct: c.marginPct });
    }
  }
  if (report.micro?.status === 'failed') rows.push({ kind: 'micro', status: 'failed', note: (report.micro.message ?? '').split('\n', 1)[0]! });
  for (const modes of Object.values(report.scenarios)) for (const result of Object.values(modes)) rows.push(...modeRows(result));
  if (report.e2e !== null) rows.push(...e2eRows(report.e2e));
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map((c) => escape(row[c])).join(','));
  return `${lines.join('\n')}\n`;
}
