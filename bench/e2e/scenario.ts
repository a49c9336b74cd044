/**
 * The end-to-end scenario: the same workload, in one run, against every system (SYSTEMS): the
 * floor, watchcache (embedded store and over etcd, each dispatch worker count asked for), etcd
 * direct and etcd grpc-proxy. Per system: its processes start fresh, a writer process creates the
 * pods, then for each mix client processes open the watchers over real sockets and a step-up
 * search raises the write rate until a step breaks the rule. Everything is bounded in count and
 * in time, runs on loopback, and every process is stopped after its system (and on exit).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { E2eSize } from '../profiles.js';
import { formatCount, formatMs, formatRate } from '../format.js';
import { machineBusyMs } from '../measure/threads.js';
import { Histogram } from './histogram.js';
import { etcdBinary, forkBench, startEtcd, startFloor, startGrpcProxy, startWatchcache, type Proc } from './processes.js';
import { processMemory, sumCpuMs } from './proc.js';
import { Rpc, type ClientStats, type StepDone, type Target } from './protocol.js';
import { SYSTEMS, type E2eMixResult, type E2eResult, type E2eStep, type E2eSystemResult, type FinalCheck, type StepCpu, type SystemName } from './types.js';
import { MIXES, type Layout, type Mix } from './workload.js';

const POD_BYTES = 2048;
/** A step holds only if the writer reached this fraction of the asked rate. */
const MIN_WRITE_FRACTION = 0.9;
const OPEN_TIMEOUT_MS = 180_000;
/** The final check's wait for late deliveries, ms. */
const FINAL_DRAIN_MS = 30_000;
const PRELOAD_TIMEOUT_MS = 600_000;

export interface E2eOptions {
  size: E2eSize;
  systems: readonly SystemName[];
  progress(text: string, milestone?: boolean): void;
}

/** A running system: who to write to, who to watch, the processes to measure, how to stop it. */
interface Running {
  writeTarget: Target;
  watchTarget: Target;
  front: Proc | null;
  store: Proc | null;
  writer: Rpc;
  preloadMs: number;
  stop(): Promise<void>;
}

class Unavailable extends Error {}

function workersOf(system: SystemName): number {
  return Number(system.slice(system.lastIndexOf('-w') + 2));
}

async function startSystem(system: SystemName, layout: Layout, maxInFlight: number): Promise<Running> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const writerProc = forkBench('writer', 'writer');
    stops.push(() => writerProc.stop());
    const writer = new Rpc(writerProc);
    const init = (target: Target): Promise<unknown> => writer.call({ type: 'init', init: { target, layout, maxInFlight } }, 60_000);
    const preload = async (): Promise<number> => ((await writer.call<StepDone>({ type: 'preload' }, PRELOAD_TIMEOUT_MS)).elapsedMs);

    let front: Proc | null = null;
    let store: Proc | null = null;
    let writeTarget: Target;
    let watchTarget: Target;
    let preloadMs: number;
    if (system === 'floor' || system.startsWith('watchcache-memory')) {
      const server = system === 'floor' ? await startFloor() : await startWatchcache({ workers: workersOf(system) });
      stops.push(() => server.proc.stop());
      front = server.proc;
      writeTarget = watchTarget = { kind: 'http', url: server.url };
      await init(writeTarget);
      preloadMs = await preload();
    } else {
      const binary = etcdBinary();
      if (binary === null) throw new Unavailable('etcd not found (/usr/bin/etcd or $ETCD_BIN)');
      const etcd = await startEtcd(binary);
      stops.push(() => etcd.stop());
      store = etcd.proc;
      writeTarget = { kind: 'etcd', endpoint: etcd.endpoint };
      await init(writeTarget);
      // Before the front starts: watchcache over etcd lists them, as it would a real cluster.
      preloadMs = await preload();
      if (system === 'etcd-direct') watchTarget = writeTarget;
      else if (system === 'etcd-grpc-proxy') {
        const proxy = await startGrpcProxy(binary, etcd.endpoint);
        stops.push(() => proxy.proc.stop());
        front = proxy.proc;
        watchTarget = { kind: 'etcd', endpoint: proxy.endpoint };
      } else {
        const server = await startWatchcache({ etcd: etcd.endpoint, workers: workersOf(system) });
        stops.push(() => server.proc.stop());
        front = server.proc;
        watchTarget = { kind: 'http', url: server.url };
      }
    }
    return { writeTarget, watchTarget, front, store, writer, preloadMs, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface CpuSnapshot {
  at: number;
  front: number | null;
  store: number | null;
  clients: number | null;
  writer: number | null;
  machine: number | null;
  self: number;
}

function snapshot(run: Running, clients: readonly Proc[]): CpuSnapshot {
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    front: run.front === null ? null : sumCpuMs([run.front.pid]),
    store: run.store === null ? null : sumCpuMs([run.store.pid]),
    clients: sumCpuMs(clients.map((c) => c.pid)),
    writer: sumCpuMs([run.writer.proc.pid]),
    machine: machineBusyMs(),
    self: (self.user + self.system) / 1000,
  };
}

function delta(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : b - a;
}

function stepCpu(s0: CpuSnapshot, s1: CpuSnapshot): StepCpu {
  const frontMs = delta(s0.front, s1.front);
  const storeMs = delta(s0.store, s1.store);
  const clientsMs = delta(s0.clients, s1.clients);
  const writerMs = delta(s0.writer, s1.writer);
  const machineMs = delta(s0.machine, s1.machine);
  const server = (frontMs ?? 0) + (storeMs ?? 0);
  const bench = clientsMs === null || writerMs === null ? null : clientsMs + writerMs + (s1.self - s0.self);
  return {
    wallMs: s1.at - s0.at,
    frontMs,
    storeMs,
    clientsMs,
    writerMs,
    machineMs,
    foreignMs: machineMs === null ? null : Math.max(0, machineMs - server),
    otherMs: machineMs === null || bench === null ? null : Math.max(0, machineMs - server - bench),
  };
}

function perDelivery(ms: number | null, deliveries: number): number | null {
  return ms === null || deliveries === 0 ? null : (ms * 1000) / deliveries;
}

function judge(size: E2eSize, rate: number, done: StepDone, stats: readonly ClientStats[], cpu: StepCpu, run: Running): E2eStep {
  const histogram = new Histogram(size.lateMs);
  for (const s of stats) histogram.add(s.histogram);
  const sum = (f: (s: ClientStats) => number): number => stats.reduce((n, s) => n + f(s), 0);
  const deliveries = sum((s) => s.received);
  const step: Omit<E2eStep, 'verified' | 'held' | 'brokeBecause'> = {
    rate,
    writes: done.writes,
    writeRate: done.elapsedMs > 0 ? (done.writes * 1000) / done.elapsedMs : 0,
    failedWrites: done.failures,
    refusedWrites: done.refused.length,
    deliveries,
    expected: sum((s) => s.expected),
    missing: sum((s) => s.missing),
    duplicates: sum((s) => s.duplicates),
    extra: sum((s) => s.extra),
    filtered: sum((s) => s.filtered),
    errors: sum((s) => s.errors),
    firstError: done.firstError ?? stats.find((s) => s.firstError !== null)?.firstError ?? null,
    late: histogram.late,
    deliveriesPerSec: cpu.wallMs > 0 ? (deliveries * 1000) / cpu.wallMs : 0,
    p50Ms: histogram.percentile(50),
    p99Ms: histogram.percentile(99),
    maxMs: histogram.count === 0 ? null : histogram.max,
    drainMs: Math.max(...stats.map((s) => s.drainMs)),
    cpu,
    serverUsPerDelivery: cpu.frontMs === null && cpu.storeMs === null ? null : perDelivery((cpu.frontMs ?? 0) + (cpu.storeMs ?? 0), deliveries),
    frontUsPerDelivery: perDelivery(cpu.frontMs, deliveries),
    storeUsPerDelivery: perDelivery(cpu.storeMs, deliveries),
    clientUsPerDelivery: perDelivery(cpu.clientsMs, deliveries),
    frontRssMiB: run.front === null ? null : (processMemory(run.front.pid)?.rssMiB ?? null),
    storeRssMiB: run.store === null ? null : (processMemory(run.store.pid)?.rssMiB ?? null),
  };
  const broke: string[] = [];
  if (step.writeRate < MIN_WRITE_FRACTION * rate) broke.push(`writer reached ${formatRate(step.writeRate)} of ${formatRate(rate)}`);
  if (step.failedWrites > 0) broke.push(`${step.failedWrites} writes failed: ${done.firstError ?? ''}`);
  if (step.missing > 0) broke.push(`${formatCount(step.missing)} deliveries missing ${size.drainMs} ms after the last write`);
  if (step.late > 0) broke.push(`${formatCount(step.late)} deliveries later than ${size.lateMs} ms`);
  if (step.p99Ms !== null && step.p99Ms > size.p99BoundMs) broke.push(`p99 ${formatMs(step.p99Ms)} > ${size.p99BoundMs} ms`);
  if (step.duplicates > 0) broke.push(`${step.duplicates} duplicated deliveries`);
  if (step.extra > 0) broke.push(`${step.extra} extra deliveries`);
  if (step.errors > 0) broke.push(`${step.errors} watch errors: ${stats.find((s) => s.firstError !== null)?.firstError ?? ''}`);
  const verified = step.missing === 0 && step.duplicates === 0 && step.extra === 0 && step.errors === 0;
  return { ...step, verified, held: broke.length === 0, brokeBecause: broke };
}

/** Waits for whatever the writes still owe, then sums the mix's whole account. */
async function finalCheck(clients: readonly Rpc[], upTo: number, steps: readonly E2eStep[]): Promise<FinalCheck> {
  const stats = await Promise.all(clients.map((c) => c.call<ClientStats>({ type: 'drain', order: { upTo, refused: [], timeoutMs: FINAL_DRAIN_MS } }, FINAL_DRAIN_MS + 30_000)));
  const sum = (f: (s: ClientStats) => number): number => stats.reduce((n, s) => n + f(s), 0);
  const check = {
    deliveries: steps.reduce((n, s) => n + s.deliveries, 0) + sum((s) => s.received),
    expected: steps.reduce((n, s) => n + s.expected, 0) + sum((s) => s.expected),
    missing: sum((s) => s.missing),
    duplicates: sum((s) => s.duplicates),
    extra: sum((s) => s.extra),
    errors: sum((s) => s.errors),
    firstError: stats.find((s) => s.firstError !== null)?.firstError ?? null,
    drainMs: Math.max(...stats.map((s) => s.drainMs)),
  };
  return { ...check, verified: check.missing === 0 && check.duplicates === 0 && check.extra === 0 && check.errors === 0 && check.deliveries === check.expected };
}

async function runMix(system: SystemName, mix: Mix, run: Running, size: E2eSize, layout: Layout, nextSeq: { value: number }, progress: E2eOptions['progress']): Promise<E2eMixResult> {
  const tag = `[e2e ${system} ${mix}]`;
  const perClient = Math.ceil(size.watchers / size.clients);
  const result: E2eMixResult = {
    mix,
    status: 'ok',
    watchers: size.watchers,
    clients: size.clients,
    deliveriesPerWrite: mix === 'all' ? size.watchers : 1,
    openMs: null,
    steps: [],
    best: -1,
    final: null,
  };
  const procs: Proc[] = [];
  try {
    const revision = await run.writer.call<string>({ type: 'revision' }, 30_000);
    const clients: Rpc[] = [];
    for (let c = 0, first = 0; first < size.watchers; c++, first += perClient) {
      const proc = forkBench(`client ${c}`, 'client');
      procs.push(proc);
      clients.push(new Rpc(proc));
    }
    progress(`${tag} opening ${size.watchers} watches in ${clients.length} client processes`, true);
    const opened = await Promise.all(
      clients.map((client, c) =>
        client.call<number>(
          {
            type: 'open',
            open: { target: run.watchTarget, layout, mix, first: c * perClient, count: Math.min(perClient, size.watchers - c * perClient), revision, baseSeq: nextSeq.value, lateMs: size.lateMs },
          },
          OPEN_TIMEOUT_MS,
        ),
      ),
    );
    result.openMs = Math.max(...opened);

    for (const rate of size.rates[mix]) {
      const label = `${tag} ${formatRate(rate)} writes`;
      progress(`${label}  (${formatRate(rate * result.deliveriesPerWrite)} deliveries)`);
      const s0 = snapshot(run, procs);
      const done = await run.writer.call<StepDone>({ type: 'step', order: { firstSeq: nextSeq.value, rate, durationMs: size.stepMs } }, size.stepMs + 60_000);
      nextSeq.value += done.writes;
      const order = { upTo: nextSeq.value, refused: done.refused, timeoutMs: size.drainMs };
      const stats = await Promise.all(clients.map((c) => c.call<ClientStats>({ type: 'drain', order }, size.drainMs + 30_000)));
      const step = judge(size, rate, done, stats, stepCpu(s0, snapshot(run, procs)), run);
      result.steps.push(step);
      const server = step.serverUsPerDelivery === null ? '' : `  server ${step.serverUsPerDelivery.toFixed(2)} µs/deliv`;
      progress(`${label}  ${formatRate(step.deliveriesPerSec)} deliveries  p99 ${formatMs(step.p99Ms)}${server}  ${step.held ? 'held' : `broke: ${step.brokeBecause.join('; ')}`}`, true);
      if (!step.held) break;
      result.best = result.steps.length - 1;
    }
    result.final = await finalCheck(clients, nextSeq.value, result.steps);
    if (!result.final.verified) progress(`${tag} final check: ${JSON.stringify(result.final)}`, true);
  } catch (err) {
    result.status = 'failed';
    result.message = err instanceof Error ? err.message : String(err);
    progress(`${tag} failed: ${result.message.split('\n', 1)[0]}`, true);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
  return result;
}

async function runSystem(system: SystemName, size: E2eSize, progress: E2eOptions['progress']): Promise<E2eSystemResult> {
  const start = performance.now();
  const layout: Layout = { pods: size.pods, nodes: size.watchers, podBytes: POD_BYTES };
  // Fewer writes in flight than pods: see writer.ts.
  const maxInFlight = Math.max(1, Math.min(256, Math.floor(size.pods / 2)));
  const result: E2eSystemResult = { system, status: 'ok', durationMs: 0, preloadMs: null, mixes: {} };
  progress(`[e2e ${system}] starting (load average ${loadavg()[0]!.toFixed(1)})`, true);
  let run: Running | undefined;
  try {
    run = await startSystem(system, layout, maxInFlight);
    result.preloadMs = run.preloadMs;
    const nextSeq = { value: size.pods };
    for (const mix of MIXES) {
      const m = await runMix(system, mix, run, size, layout, nextSeq, progress);
      result.mixes[mix] = m;
      if (m.status === 'failed') result.status = 'failed';
    }
    if (result.status === 'failed') result.message = Object.values(result.mixes).find((m) => m.status === 'failed')?.message ?? 'a mix failed';
  } catch (err) {
    result.status = err instanceof Unavailable ? 'unavailable' : 'failed';
    result.message = err instanceof Error ? err.message : String(err);
    progress(`[e2e ${system}] ${result.status}: ${result.message.split('\n', 1)[0]}`, true);
  } finally {
    await run?.stop();
  }
  result.durationMs = performance.now() - start;
  return result;
}

export async function runE2e(options: E2eOptions): Promise<E2eResult> {
  const start = performance.now();
  const { size } = options;
  const systems: E2eSystemResult[] = [];
  for (const system of SYSTEMS) if (options.systems.includes(system)) systems.push(await runSystem(system, size, options.progress));
  return {
    watchers: size.watchers,
    clients: size.clients,
    pods: size.pods,
    podBytes: POD_BYTES,
    stepMs: size.stepMs,
    rule: { lateMs: size.lateMs, p99BoundMs: size.p99BoundMs, drainMs: size.drainMs, minWriteFraction: MIN_WRITE_FRACTION },
    durationMs: performance.now() - start,
    systems,
  };
}
