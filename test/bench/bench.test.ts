/**
 * `npm run bench --quick` end to end (the size the issue asks CI to smoke-run): every scenario in every mode runs
 * in its child process and the result files come out complete and well-formed. Nothing here
 * judges a number; the benchmark's targets are its own output (docs/benchmarks.md).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../bench/csv.js';
import type { BenchReport, ModeResult, ScenarioName } from '../../bench/types.js';
import { benchEntry, runBench, type BenchRun } from '../helpers/bench.js';

const SCENARIOS: ScenarioName[] = ['kubelet', 'selector-heavy', 'initial-list', 'window-burst', 'sharded'];
const WORKERS = ['0', '1', '2'];

const HEADLINE_KEYS: Record<ScenarioName, string[]> = {
  kubelet: ['bestRate', 'peakDeliveriesPerSec', 'eventsPerSec', 'deliveriesPerSec', 'latencyP50Ms', 'latencyP99Ms', 'cpuUsPerDelivery', 'mainElu', 'loopDelayP99Ms', 'heapPerIdleWatcherBytes'],
  'selector-heavy': ['eventsPerSec', 'deliveriesPerSec', 'latencyP50Ms', 'latencyP99Ms', 'cpuUsPerDelivery', 'mainElu', 'loopDelayP99Ms'],
  'initial-list': ['fillMs', 'timeToBookmarkMaxMs', 'loopDelayP99Ms', 'peakRssMiB'],
  'window-burst': ['gone410', 'peakWindowMiB', 'shortWindowEvictions'],
  sharded: ['eventsPerSec', 'deliveriesPerSec', 'cpuUsPerDelivery', 'fullDeliveriesPerUsefulEvent', 'fullCpuUsPerUsefulEvent', 'shardedDeliveriesPerUsefulEvent', 'shardedCpuUsPerUsefulEvent'],
};

/** RFC 4180 fields of one CSV line (quoted fields may hold commas and doubled quotes). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

describe('npm run bench --quick', () => {
  let out: string;
  let run: BenchRun;
  let report: BenchReport;
  let files: string[];

  beforeAll(async () => {
    expect(existsSync(benchEntry), `${benchEntry} is missing: run npm run build first`).toBe(true);
    out = await mkdtemp(join(tmpdir(), 'watchcache-bench-'));
    // The end-to-end scenario has its own test (e2e.test.ts).
    run = await runBench(['--quick', '--scenario', SCENARIOS.join(','), '--out', out]);
    files = await readdir(out);
    report = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchReport;
  }, 300_000);

  afterAll(async () => {
    if (out !== undefined) await rm(out, { recursive: true, force: true });
  });

  it('ends with a summary and exit code 0, every mode ok or unavailable', () => {
    const modes = Object.values(report.scenarios).flatMap((m) => Object.values(m));
    const failed = modes.filter((m) => m.status === 'failed').map((m) => `${m.scenario} w=${m.workers}: ${m.message}`);
    expect(failed, 'failed modes').toEqual([]);
    expect(report.micro?.status, report.micro?.message).toBe('ok');
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(run.stdout).toContain('Targets');
    expect(run.stderr).toContain('[kubelet w=0]');
  });

  it('writes <stamp>.json, .csv, .html and latest.json', async () => {
    const stamped = files.filter((f) => f !== 'latest.json');
    expect(stamped.map((f) => f.slice(f.lastIndexOf('.'))).sort()).toEqual(['.csv', '.html', '.json']);
    const base = stamped[0]!.slice(0, stamped[0]!.lastIndexOf('.'));
    expect(stamped.every((f) => f.startsWith(base))).toBe(true);
    expect(files).toContain('latest.json');
    expect(await readFile(join(out, `${base}.json`), 'utf8')).toBe(await readFile(join(out, 'latest.json'), 'utf8'));
  });

  it('the JSON has the machine, the micro suites, every scenario × mode and the targets', () => {
    expect(report.schema).toBe('watchcache-bench/1');
    expect(report.profile).toBe('quick');
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(typeof report.machine.cpuModel).toBe('string');
    expect(report.loadAverage.start).toHaveLength(3);

    expect(report.micro!.suites.map((s) => s.name)).toEqual(['ring', 'json-frame', 'msgpack-vs-json', 'wire-formats', 'selectors']);
    for (const suite of report.micro!.suites) {
      expect(suite.cases.length).toBeGreaterThan(0);
      for (const c of suite.cases) {
        expect(c.opsPerSec, `${suite.name}: ${c.name}`).toBeGreaterThan(0);
        expect(Number.isFinite(c.usPerItem)).toBe(true);
      }
    }

    expect(Object.keys(report.scenarios).sort()).toEqual([...SCENARIOS].sort());
    for (const scenario of SCENARIOS) {
      expect(Object.keys(report.scenarios[scenario]!).sort()).toEqual(WORKERS);
      for (const w of WORKERS) {
        const result: ModeResult = report.scenarios[scenario]![w]!;
        expect(result.scenario).toBe(scenario);
        expect(result.workers).toBe(Number(w));
        if (result.status === 'unavailable') {
          expect(result.message, `${scenario} w=${w}`).toMatch(/\S/);
          continue;
        }
        expect(result.status, `${scenario} w=${w}: ${result.message}`).toBe('ok');
        for (const key of HEADLINE_KEYS[scenario]) expect(result.headline, `${scenario} w=${w}`).toHaveProperty(key);
        checkDetail(result);
      }
    }

    const ids = report.targets.map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining(['selector-heavy-speedup', 'kubelet-speedup', 'kubelet-deliveries-best', 'initial-list-loop-delay-w0', 'idle-watcher-heap-w0']));
    for (const t of report.targets) expect(['PASS', 'MISS', 'N/A']).toContain(t.status);
  });

  it('the CSV has the header and one well-formed row per measured thing', async () => {
    const csv = (await readFile(join(out, files.find((f) => f.endsWith('.csv'))!), 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe(CSV_COLUMNS.join(','));
    const rows = csv.slice(1).map(csvFields);
    for (const row of rows) expect(row).toHaveLength(CSV_COLUMNS.length);
    const col = (name: (typeof CSV_COLUMNS)[number]): number => CSV_COLUMNS.indexOf(name);
    expect(rows.filter((r) => r[col('kind')] === 'micro').length).toBe(report.micro!.suites.reduce((n, s) => n + s.cases.length, 0));
    for (const scenario of SCENARIOS) {
      for (const w of WORKERS) {
        expect(rows.some((r) => r[col('kind')] === 'scenario' && r[col('scenario')] === scenario && r[col('workers')] === w), `${scenario} w=${w}`).toBe(true);
      }
    }
  });

  it('the HTML is self-contained, with charts and the targets', async () => {
    const html = await readFile(join(out, files.find((f) => f.endsWith('.html'))!), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).toContain('Targets');
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
  });
});

function checkDetail(result: ModeResult): void {
  const detail = result.detail!;
  expect(detail.scenario).toBe(result.scenario);
  switch (detail.scenario) {
    case 'kubelet':
      expect(detail.steps.length).toBeGreaterThan(0);
      expect(detail.idle.watchers).toBe(detail.nodeWatchers);
      for (const step of detail.steps) {
        expect(step.writes).toBeGreaterThan(0);
        expect(step.window.wallMs).toBeGreaterThan(0);
      }
      return;
    case 'selector-heavy':
      expect(detail.run.writes).toBeGreaterThan(0);
      // Every write of this scenario reaches exactly one watcher.
      expect(detail.run.expectedDeliveries).toBe(detail.run.writes);
      return;
    case 'initial-list':
      // The quick profile lists with one watcher, then with ten at once.
      expect(detail.phases.map((p) => p.watchers)).toEqual([1, 10]);
      for (const phase of detail.phases) {
        // Every watcher got every object, then its initial-events-end bookmark.
        expect(phase.framesPerWatcher).toEqual(Array(phase.watchers).fill(detail.objects));
        expect(phase.timeToBookmarkMs.every((t) => t !== null)).toBe(true);
      }
      return;
    case 'sharded':
      // R replicas × the full stream: R deliveries per write; R shards: exactly one.
      expect(detail.full.run.writes).toBeGreaterThan(0);
      expect(detail.full.run.expectedDeliveries).toBe(detail.full.run.writes * detail.replicas);
      expect(detail.sharded.run.writes).toBeGreaterThan(0);
      expect(detail.sharded.run.expectedDeliveries).toBe(detail.sharded.run.writes);
      expect(detail.sharded.run.deliveries).toBe(detail.sharded.run.expectedDeliveries);
      return;
  }
}
