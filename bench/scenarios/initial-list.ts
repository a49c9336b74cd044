/**
 * Initial list: watchers with sendInitialEvents=true over a large cache, all started at once.
 * Measures, per watcher, the time from the watch call to its initial-events-end BOOKMARK, and
 * what the main thread went through meanwhile (event-loop delay, utilization, CPU) and the
 * process's peak RSS. The cache fill (the reflector's paged list and decode) is timed apart.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers/promises';
import { MemoryStorage, type WatchOptions } from '../../src/index.js';
import { CountingSink, DeliveryHub, SINK_WATCH } from '../consumer.js';
import { PodTemplate } from '../fixtures/pods.js';
import { formatCount, formatMs } from '../format.js';
import { collect, peakRssMiB } from '../measure/memory.js';
import { startWindow } from '../measure/window.js';
import type { InitialListPhase, InitialListResult } from '../types.js';
import { startCacher, type ScenarioContext } from './context.js';
import { podLabels } from './selectors.js';

const INITIAL_EVENTS_END = Buffer.from('initial-events-end');
const B = 'B'.charCodeAt(0);

/** A sink that notes when its initial-events-end bookmark arrives. */
class InitialSink extends CountingSink {
  objects = 0;
  bookmarkAt: number | undefined = undefined;

  override push(frame: Uint8Array): void {
    super.push(frame);
    // `{"type":"B…`: only BOOKMARK frames have a B at offset 9.
    if (frame[9] === B && Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).includes(INITIAL_EVENTS_END)) {
      this.bookmarkAt ??= performance.now();
    } else if (this.bookmarkAt === undefined) {
      this.objects++;
    }
  }
}

const WATCH: WatchOptions = { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true };

export async function initialList(ctx: ScenarioContext): Promise<InitialListResult> {
  const size = ctx.sizes.initialList;
  const tag = `[initial-list w=${ctx.workers}]`;
  const storage = new MemoryStorage();
  let podBytes = 0;
  for (let p = 0; p < size.objects; p++) {
    const pod = new PodTemplate({
      namespace: `ns-${p % 50}`,
      name: `pod-${p}`,
      nodeName: `node-${p % 5000}`,
      labels: podLabels(p, 500),
      bytes: ctx.sizes.podBytes,
    });
    podBytes = pod.bytes.byteLength;
    await storage.create(pod.key, pod.bytes);
    if (p % 10_000 === 0) ctx.progress(`${tag} creating pods ${formatCount(p)}/${formatCount(size.objects)}`);
  }

  ctx.progress(`${tag} filling the cache`, true);
  const fillStart = performance.now();
  const { cacher, baseline } = startCacher(storage, ctx.workers);
  try {
    await cacher.ready();
    const fillMs = performance.now() - fillStart;
    const phases: InitialListPhase[] = [];
    for (const n of size.phases) {
      collect();
      await setTimeout(100);
      ctx.progress(`${tag} ${n} watcher(s) × ${formatCount(size.objects)} initial events`, true);
      const hub = new DeliveryHub({ sampleLatency: false });
      const sinks = Array.from({ length: n }, () => new InitialSink(hub));
      const window = await startWindow({ baseline, stats: () => cacher.stats() });
      const t0 = performance.now();
      const watches = await Promise.all(sinks.map(async (sink) => (sink.watch = await cacher.watchFrames({ ...SINK_WATCH, ...WATCH }, sink))));
      while (sinks.some((s) => s.bookmarkAt === undefined) && performance.now() - t0 < size.phaseTimeoutMs) await setTimeout(2);
      // A few monitor ticks, for the delay monitor to record the last blocked stretch.
      await setTimeout(20);
      const metrics = window.stop();
      for (const watch of watches) watch.stop();
      const phase: InitialListPhase = {
        watchers: n,
        timeToBookmarkMs: sinks.map((s) => (s.bookmarkAt === undefined ? null : s.bookmarkAt - t0)),
        framesPerWatcher: sinks.map((s) => s.objects),
        peakRssMiB: peakRssMiB(),
        window: metrics,
      };
      phases.push(phase);
      const slowest = Math.max(...phase.timeToBookmarkMs.map((t) => t ?? Number.POSITIVE_INFINITY));
      ctx.progress(`${tag} ${n} watcher(s): last bookmark ${formatMs(slowest)}  loop delay p99 ${formatMs(metrics.loopDelayP99Ms)}`, true);
    }
    return { scenario: 'initial-list', objects: size.objects, podBytes, fillMs, phases };
  } finally {
    await cacher.stop();
    await storage.close();
  }
}
