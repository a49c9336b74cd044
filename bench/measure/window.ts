/**
 * Resource use over one measured window: process CPU, main-thread CPU, worker-thread CPU,
 * event-loop utilization (main, and workers when the cacher exposes it), event-loop delay and
 * memory. Everything is read at the window's start and end only; nothing runs per event.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout } from 'node:timers/promises';
import type { WindowMetrics } from '../types.js';
import { heapUsed, rss, toMiB } from './memory.js';
import { machineBusyMs, mainThreadMs, mainThreadWaitMs, newThreadsMs, threadTimes, type ThreadTimes } from './threads.js';

/** Where worker event-loop utilization comes from, if anywhere: see readWorkerElu. */
export type WorkerEluSource = () => unknown;

export interface WindowOptions {
  /** Thread times taken just before the cacher was created (to tell its worker threads apart). */
  baseline: ThreadTimes | null;
  /** Returns the cacher's stats(); worker ELU is read from them when present. */
  stats?: WorkerEluSource;
  /** Resolution of the event-loop delay monitor, ms. */
  resolutionMs?: number;
}

export interface Window {
  stop(): WindowMetrics;
}

/**
 * Starts measuring. Resolves after two ticks of the delay monitor: its first tick only sets its
 * reference time, so a block right after enable() would go unrecorded, and so would one right
 * after reset() (both verified on Node 20). The two warm-up samples (near zero) stay in.
 */
export async function startWindow(options: WindowOptions): Promise<Window> {
  const resolution = options.resolutionMs ?? 5;
  const delay = monitorEventLoopDelay({ resolution });
  delay.enable();
  await setTimeout(2 * resolution + 1);
  const t0 = performance.now();
  const busy0 = machineBusyMs();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const threads0 = threadTimes();
  const workers0 = readWorkerElu(options.stats?.());
  return {
    stop(): WindowMetrics {
      delay.disable();
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      const threads1 = threadTimes();
      const busy1 = machineBusyMs();
      const workers1 = readWorkerElu(options.stats?.());
      const wallMs = performance.now() - t0;
      // An empty histogram (a window shorter than one tick) reports huge sentinels: use 0.
      const pct = (p: number): number => (delay.count === 0 ? 0 : delay.percentile(p) / 1e6);
      const processCpuMs = (cpu.user + cpu.system) / 1000;
      return {
        wallMs,
        processCpuMs,
        mainThreadCpuMs: mainThreadMs(threads0, threads1),
        mainThreadWaitMs: mainThreadWaitMs(threads0, threads1),
        foreignCpuMs: busy0 === null || busy1 === null ? null : Math.max(0, busy1 - busy0 - processCpuMs),
        workerThreadsCpuMs: newThreadsMs(options.baseline, threads0, threads1),
        mainElu: elu.utilization,
        workerElu: workerEluDiff(workers0, workers1),
        loopDelayP50Ms: pct(50),
        loopDelayP99Ms: pct(99),
        loopDelayMaxMs: delay.count === 0 ? 0 : delay.max / 1e6,
        rssMiB: toMiB(rss()),
        heapUsedMiB: toMiB(heapUsed()),
      };
    },
  };
}

type Elu = Pick<EventLoopUtilization, 'idle' | 'active'>;

/**
 * Cumulative event-loop utilization of each dispatch worker, if the cacher's stats() carries it
 * as `workers: [{ eventLoopUtilization: { idle, active } }]` (what worker.performance
 * .eventLoopUtilization() returns, in ms). The public API has no such field yet; until it has,
 * this answers null and only the main thread's ELU is reported.
 */
export function readWorkerElu(stats: unknown): Elu[] | null {
  const workers = (stats as { workers?: unknown } | undefined)?.workers;
  if (!Array.isArray(workers) || workers.length === 0) return null;
  const out: Elu[] = [];
  for (const w of workers) {
    const elu = (w as { eventLoopUtilization?: Partial<Elu> } | null)?.eventLoopUtilization;
    if (typeof elu?.idle !== 'number' || typeof elu.active !== 'number') return null;
    out.push({ idle: elu.idle, active: elu.active });
  }
  return out;
}

function workerEluDiff(before: Elu[] | null, after: Elu[] | null): number[] | null {
  if (before === null || after === null || before.length !== after.length) return null;
  return after.map((a, i) => {
    const active = a.active - before[i]!.active;
    const idle = a.idle - before[i]!.idle;
    return active + idle > 0 ? active / (active + idle) : 0;
  });
}
