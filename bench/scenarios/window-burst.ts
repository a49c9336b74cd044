/**
 * Window burst: the event window sized by time under a burst. Writes at a steady rate for most
 * of a window period, then at 10× that rate for the burst, then starts watchers from revisions
 * 5 % to ~99 % of the window period in the past (as clients reconnecting with their last RV) and
 * counts how many get 410 Gone (must be 0: the window keeps at least windowSeconds of history
 * while memory allows) and how many events each replays. Reports the window's peak bytes, its
 * growths and the evictions of records younger than windowSeconds (0 unless the cap was hit).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers/promises';
import { createCacher, MemoryStorage } from '../../src/index.js';
import { DeliveryHub, SINK_WATCH } from '../consumer.js';
import { POD_PREFIX, POD_SCHEMA } from '../fixtures/pods.js';
import { formatCount } from '../format.js';
import { startWindow } from '../measure/window.js';
import { threadTimes } from '../measure/threads.js';
import type { WindowBurstResult, WindowBurstWatcher } from '../types.js';
import { runWrites } from '../writer.js';
import { createPods, type ScenarioContext } from './context.js';
import { podLabels } from './selectors.js';

const MIB = 1024 * 1024;
/** How far behind the watchers start, as fractions of windowSeconds. */
const BEHIND = [0.05, 0.2, 0.4, 0.6, 0.8, 0.99];

export async function windowBurst(ctx: ScenarioContext): Promise<WindowBurstResult> {
  const size = ctx.sizes.windowBurst;
  const tag = `[window-burst w=${ctx.workers}]`;
  const storage = new MemoryStorage();
  const pods = await createPods(storage, size.pods, (p) => ({
    namespace: `ns-${p % 20}`,
    name: `pod-${p}`,
    nodeName: `node-${p % 100}`,
    labels: podLabels(p, 50),
    bytes: ctx.sizes.podBytes,
  }));
  const baseline = threadTimes();
  const cacher = createCacher({
    storage,
    prefix: POD_PREFIX,
    ...POD_SCHEMA,
    workers: ctx.workers,
    windowSeconds: size.windowSeconds,
    windowMinBytes: size.minBytes,
    windowMaxBytes: size.maxBytes,
  });
  try {
    await cacher.ready();
    const windowMs = size.windowSeconds * 1000;
    const burstMs = size.burstSeconds * 1000;
    /** Revision written at each moment (ms since the start), to start watchers from. */
    const marks: Array<{ at: number; rv: number }> = [];
    let failures = 0;
    let written = 0;
    const t0 = performance.now();
    const write = (i: number): void => {
      const pod = pods[i % pods.length]!;
      storage.update(pod.key, pod.stamp(performance.now())).then(
        (kv) => {
          marks.push({ at: performance.now() - t0, rv: kv.modRevision });
        },
        () => failures++,
      );
    };
    const window = await startWindow({ baseline, stats: () => cacher.stats() });

    ctx.progress(`${tag} steady ${size.baseRate}/s for ${size.windowSeconds - size.burstSeconds} s`, true);
    const steady = await runWrites({
      rate: size.baseRate,
      durationMs: windowMs - burstMs,
      maxWrites: Math.ceil(size.baseRate * (size.windowSeconds - size.burstSeconds) * 1.1),
      batch: 64,
      write: (i) => write(written + i),
      onProgress: (n) => ctx.progress(`${tag} steady writes ${formatCount(n)}  window ${Math.round(cacher.stats().windowBytes / MIB)} MiB`),
    });
    written += steady.writes;
    const burstRate = size.baseRate * size.burstFactor;
    ctx.progress(`${tag} burst ${burstRate}/s for ${size.burstSeconds} s`, true);
    const burst = await runWrites({
      rate: burstRate,
      durationMs: burstMs,
      maxWrites: Math.ceil(burstRate * size.burstSeconds * 1.1),
      batch: Math.max(64, Math.ceil(burstRate / 50)),
      write: (i) => write(written + i),
      onProgress: (n) => ctx.progress(`${tag} burst writes ${formatCount(n)}  window ${Math.round(cacher.stats().windowBytes / MIB)} MiB`),
    });
    written += burst.writes;
    // Every write acknowledged and applied by the cache.
    while (marks.length + failures < written) await setTimeout(1);
    const last = Math.max(...marks.map((m) => m.rv));
    await cacher.list({ resourceVersion: String(last), resourceVersionMatch: 'NotOlderThan', limit: 1 });
    const end = performance.now() - t0;

    // Watchers from revisions up to a window period back, started together.
    ctx.progress(`${tag} ${BEHIND.length} watchers up to ${size.windowSeconds} s behind`, true);
    const hub = new DeliveryHub({ sampleLatency: false });
    const watchers = await Promise.all(
      BEHIND.map(async (fraction) => {
        const behindMs = fraction * windowMs;
        // The newest revision written at least `behindMs` before the end.
        let rv = 0;
        for (const m of marks) if (m.at <= end - behindMs && m.rv > rv) rv = m.rv;
        const sink = hub.sink();
        sink.watch = await cacher.watchFrames({ ...SINK_WATCH, resourceVersion: String(rv) }, sink);
        return { sink, behindSeconds: (end - (marks.find((m) => m.rv === rv)?.at ?? 0)) / 1000, owed: last - rv };
      }),
    );
    const deadline = performance.now() + size.drainTimeoutMs;
    while (hub.ended < watchers.length && watchers.some((w) => w.sink.frames < w.owed) && performance.now() < deadline) await setTimeout(2);
    const metrics = window.stop();
    for (const w of watchers) w.sink.watch?.stop();
    const stats = cacher.stats();
    const results: WindowBurstWatcher[] = watchers.map((w) => ({ behindSeconds: w.behindSeconds, events: w.sink.frames, expected: w.owed }));
    const gone = hub.errors.filter((e) => e.includes('"code":410')).length;
    ctx.progress(`${tag} 410s ${gone}  peak window ${Math.round(stats.cache.peakWindowBytes / MIB)} MiB  short evictions ${stats.cache.shortWindowEvictions}`, true);
    return {
      scenario: 'window-burst',
      windowSeconds: size.windowSeconds,
      baseRate: size.baseRate,
      burstRate,
      burstSeconds: size.burstSeconds,
      writes: written,
      writeFailures: failures,
      podBytes: ctx.sizes.podBytes,
      minBytes: size.minBytes,
      maxBytes: size.maxBytes,
      peakWindowBytes: stats.cache.peakWindowBytes,
      windowBytesAtEnd: stats.windowBytes,
      windowGrowths: stats.cache.windowGrowths,
      shortWindowEvictions: stats.cache.shortWindowEvictions,
      gone410: gone,
      errors: hub.errors,
      watchers: results,
      window: metrics,
    };
  } finally {
    await cacher.stop();
    await storage.close();
  }
}
