/**
 * `npm run bench -- --quick --scenario e2e` end to end: every system (the floor, watchcache with
 * the embedded store and over etcd in each worker mode, etcd direct, etcd grpc-proxy) runs both
 * mixes with watchers in client processes and a writer process, and every delivery is accounted
 * for. Nothing here judges a rate or a latency: those are the benchmark's output.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../bench/csv.js';
import { SYSTEMS } from '../../bench/e2e/types.js';
import type { BenchReport } from '../../bench/types.js';
import { benchEntry, runBench, type BenchRun } from '../helpers/bench.js';

describe('npm run bench -- --quick --scenario e2e', () => {
  let out: string;
  let run: BenchRun;
  let report: BenchReport;

  beforeAll(async () => {
    expect(existsSync(benchEntry), `${benchEntry} is missing: run npm run build first`).toBe(true);
    out = await mkdtemp(join(tmpdir(), 'watchcache-e2e-'));
    run = await runBench(['--quick', '--scenario', 'e2e', '--no-micro', '--out', out]);
    report = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchReport;
  }, 600_000);

  afterAll(async () => {
    if (out !== undefined) await rm(out, { recursive: true, force: true });
  });

  it('runs every system, both mixes, and exits 0', () => {
    const e2e = report.e2e!;
    expect(e2e, 'report.e2e').not.toBeNull();
    expect(e2e.systems.map((s) => s.system)).toEqual([...SYSTEMS]);
    for (const s of e2e.systems) {
      expect(s.status, `${s.system}: ${s.message}`).toBe('ok');
      expect(Object.keys(s.mixes).sort(), s.system).toEqual(['all', 'kubelet']);
    }
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(Object.keys(report.scenarios)).toEqual([]);
    expect(run.stdout).toContain('End to end');
  });

  it('every step has its writes, deliveries, latencies and CPU readings', () => {
    for (const s of report.e2e!.systems) {
      for (const m of Object.values(s.mixes)) {
        const what = `${s.system} ${m.mix}`;
        expect(m.status, `${what}: ${m.message}`).toBe('ok');
        expect(m.watchers).toBe(report.e2e!.watchers);
        expect(m.openMs).toBeGreaterThan(0);
        expect(m.steps.length, what).toBeGreaterThan(0);
        for (const step of m.steps) {
          expect(step.writes, what).toBeGreaterThan(0);
          expect(step.expected, what).toBe((step.writes - step.refusedWrites) * m.deliveriesPerWrite);
          expect(step.deliveries, what).toBeGreaterThan(0);
          expect(step.p50Ms, what).not.toBeNull();
          expect(step.p99Ms, what).not.toBeNull();
          expect(step.cpu.wallMs, what).toBeGreaterThan(0);
          expect(step.cpu.clientsMs, what).not.toBeNull();
          expect(step.cpu.writerMs, what).not.toBeNull();
          expect(step.cpu.machineMs, what).not.toBeNull();
          // etcd direct has no front; the floor and the embedded store no separate store.
          expect(step.cpu.frontMs === null, what).toBe(s.system === 'etcd-direct');
          expect(step.cpu.storeMs === null, what).toBe(s.system === 'floor' || s.system.startsWith('watchcache-memory'));
          expect(step.serverUsPerDelivery, what).not.toBeNull();
          expect(step.frontRssMiB ?? step.storeRssMiB, what).toBeGreaterThan(0);
        }
        expect(m.best).toBeLessThan(m.steps.length);
      }
    }
  });

  it('every delivery every mix owed arrived once, and nothing else did', () => {
    for (const s of report.e2e!.systems) {
      for (const m of Object.values(s.mixes)) {
        const f = m.final!;
        expect(f, `${s.system} ${m.mix}`).not.toBeNull();
        expect({ system: s.system, mix: m.mix, missing: f.missing, duplicates: f.duplicates, extra: f.extra, errors: f.errors, firstError: f.firstError }).toEqual({
          system: s.system,
          mix: m.mix,
          missing: 0,
          duplicates: 0,
          extra: 0,
          errors: 0,
          firstError: null,
        });
        expect(f.deliveries).toBe(f.expected);
        expect(f.expected).toBe(m.steps.reduce((n, step) => n + step.writes - step.refusedWrites, 0) * m.deliveriesPerWrite);
        expect(f.verified).toBe(true);
      }
    }
  });

  it('writes the e2e steps and checks to the CSV and charts them in the HTML', async () => {
    const files = await readdir(out);
    const csv = (await readFile(join(out, files.find((f) => f.endsWith('.csv'))!), 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe(CSV_COLUMNS.join(','));
    const kind = CSV_COLUMNS.indexOf('kind');
    const scenario = CSV_COLUMNS.indexOf('scenario');
    const rows = csv.slice(1).map((line) => line.split(','));
    for (const system of SYSTEMS) expect(rows.some((r) => r[kind] === 'e2e' && r[scenario] === system), system).toBe(true);
    const html = await readFile(join(out, files.find((f) => f.endsWith('.html'))!), 'utf8');
    expect(html).toContain('end to end, all mix');
    expect(html).toContain('end to end, kubelet mix');
  });
});
