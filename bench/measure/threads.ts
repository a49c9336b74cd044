/**
 * CPU time per thread, from Linux's /proc/self/task/<tid>/schedstat (nanoseconds on the CPU).
 * Node has no per-thread CPU clock: process.cpuUsage() sums every thread (main, workers, GC
 * helpers, libuv pool), so this is the only way to tell the main thread's share apart. The main
 * thread's tid is the pid. Elsewhere (no /proc), every function here answers null.
 */
import { readdirSync, readFileSync } from 'node:fs';
import process from 'node:process';

/** Per thread: [ns on the CPU, ns runnable but waiting for a CPU]. */
export type ThreadTimes = Map<number, readonly [number, number]>;

/** CPU and run-queue wait of every thread of this process, by tid; null without /proc. */
export function threadTimes(): ThreadTimes | null {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return null;
  }
  const times: ThreadTimes = new Map();
  for (const tid of tids) {
    try {
      // A thread may exit between the listing and the read; it is simply left out.
      const [cpu, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ', 2);
      times.set(Number(tid), [Number(cpu), Number(wait)]);
    } catch {
      continue;
    }
  }
  return times;
}

export const MAIN_TID = process.pid;

/** CPU ms of the main thread between two snapshots. */
export function mainThreadMs(before: ThreadTimes | null, after: ThreadTimes | null): number | null {
  const a = before?.get(MAIN_TID);
  const b = after?.get(MAIN_TID);
  return a === undefined || b === undefined ? null : (b[0] - a[0]) / 1e6;
}

/**
 * ms the main thread was ready to run but had no CPU (other processes, or this process's own
 * worker threads, held both cores): wall time that ELU counts as busy yet no CPU was spent on.
 */
export function mainThreadWaitMs(before: ThreadTimes | null, after: ThreadTimes | null): number | null {
  const a = before?.get(MAIN_TID);
  const b = after?.get(MAIN_TID);
  return a === undefined || b === undefined ? null : (b[1] - a[1]) / 1e6;
}

/**
 * CPU ms, between two snapshots, of the threads that did not exist in `baseline` (taken just
 * before the cacher was created): its worker threads. Node 20 names every thread "node", so
 * creation order is the only handle; a thread that started and ended between the snapshots is
 * missed. null when no such thread ran.
 */
export function newThreadsMs(baseline: ThreadTimes | null, before: ThreadTimes | null, after: ThreadTimes | null): number | null {
  if (baseline === null || before === null || after === null) return null;
  let total = 0;
  let any = false;
  for (const [tid, [ns]] of after) {
    if (baseline.has(tid)) continue;
    any = true;
    total += ns - (before.get(tid)?.[0] ?? 0);
  }
  return any ? total / 1e6 : null;
}

/** Busy CPU ms of the whole machine (every process), from /proc/stat; null without /proc. */
export function machineBusyMs(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = fields[3]! + fields[4]!;
    return ((total - idle) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux Node supports. */
const CLOCK_TICKS = 100;
