/**
 * What every scenario gets from the child process: its sizes, its mode, a way to report
 * progress, and the creation of the store and the cacher, where a mode the library does not
 * offer yet (workers > 0 before worker dispatch lands) is told apart from a real failure.
 */
import { setImmediate } from 'node:timers/promises';
import { createCacher, ErrorCodes, isWatchCacheError, MemoryStorage, type Cacher } from '../../src/index.js';
import { POD_PREFIX, POD_SCHEMA, PodTemplate, type PodInit } from '../fixtures/pods.js';
import { collect } from '../measure/memory.js';
import { threadTimes, type ThreadTimes } from '../measure/threads.js';
import type { ProfileSizes } from '../profiles.js';

const RING_BYTES = 64 * 1024 * 1024;

export interface ScenarioContext {
  sizes: ProfileSizes;
  workers: number;
  /** Progress for the runner's status line; milestones are kept when stderr is not a terminal. */
  progress(text: string, milestone?: boolean): void;
}

/** The mode does not exist in this build: the runner records it as "unavailable", not failed. */
export class ModeUnavailable extends Error {}

export interface CacherHandle {
  cacher: Cacher;
  /** Thread CPU times taken just before the cacher was created: later threads are its workers. */
  baseline: ThreadTimes | null;
}

export function startCacher(storage: MemoryStorage, workers: number): CacherHandle {
  const baseline = threadTimes();
  try {
    // The throughput scenarios measure dispatch over a window of a fixed 64 MiB (as before the
    // window was sized by time: at these rates it would grow to its cap); window-burst measures the sizing.
    const cacher = createCacher({ storage, prefix: POD_PREFIX, ...POD_SCHEMA, workers, windowMinBytes: RING_BYTES, windowMaxBytes: RING_BYTES });
    return { cacher, baseline };
  } catch (err) {
    if (workers > 0 && isWatchCacheError(err) && err.code === ErrorCodes.INVALID) throw new ModeUnavailable(err.message);
    throw err;
  }
}

/** Creates `count` pods and keeps their write templates. */
export async function createPods(storage: MemoryStorage, count: number, init: (i: number) => PodInit): Promise<PodTemplate[]> {
  const pods: PodTemplate[] = [];
  for (let i = 0; i < count; i++) {
    const pod = new PodTemplate(init(i));
    await storage.create(pod.key, pod.stamp(0));
    pods.push(pod);
  }
  return pods;
}

/**
 * Writes until the ring has wrapped once (the first eviction), before any watcher exists, so
 * that measured runs see the steady state: the first pass over the ring's 64 MiB pays a page
 * fault per 4 KB page (about 12 µs each on this VM), and the write path gets optimized. Bounded
 * in count and time; returns the writes made.
 */
async function warmRing(storage: MemoryStorage, cacher: Cacher, pods: readonly PodTemplate[], maxWrites: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  let writes = 0;
  while (cacher.stats().cache.shortWindowEvictions === 0 && writes < maxWrites && Date.now() < deadline) {
    for (let i = 0; i < 256; i++, writes++) {
      const pod = pods[writes % pods.length]!;
      await storage.update(pod.key, pod.stamp(0));
    }
    // The reflector and the dispatchers apply the batch before the next one.
    await setImmediate();
  }
  return writes;
}

/** Waits for the cacher, then (unless the profile skips it) warms the ring and collects garbage. */
export async function readyAndWarm(ctx: ScenarioContext, tag: string, storage: MemoryStorage, cacher: Cacher, pods: readonly PodTemplate[]): Promise<void> {
  await cacher.ready();
  if (!ctx.sizes.warmRing) return;
  ctx.progress(`${tag} warming the ring`, true);
  await warmRing(storage, cacher, pods, 200_000, 30_000);
  collect();
}
