/**
 * The kubelet pattern: one watcher per node with `fieldSelector=spec.nodeName=node-i` (routed by
 * the trigger index), cluster-wide watchers that see every event, and label-selector watchers;
 * pod churn at rising rates until a step breaks (p99 latency over the bound, deliveries behind
 * writes, watchers dropped, or a main thread too busy to issue the writes). Before the churn it
 * measures the heap cost of an idle watcher.
 */
import { setImmediate, setTimeout } from 'node:timers/promises';
import { MemoryStorage, type WatchOptions } from '../../src/index.js';
import { DeliveryHub, type CountingSink, SINK_WATCH } from '../consumer.js';
import { formatMs, formatRate } from '../format.js';
import { collect, heapUsed, rss } from '../measure/memory.js';
import type { IdleWatcherMemory, KubeletResult, ThroughputRun } from '../types.js';
import { createPods, readyAndWarm, startCacher, type ScenarioContext } from './context.js';
import { labelSelector, podLabels } from './selectors.js';
import { throughputRun } from './throughput.js';

export async function kubelet(ctx: ScenarioContext): Promise<KubeletResult> {
  const size = ctx.sizes.kubelet;
  const tag = `[kubelet w=${ctx.workers}]`;
  const storage = new MemoryStorage();
  const nodeOf = (p: number): number => p % size.nodes;
  ctx.progress(`${tag} creating ${size.pods} pods`, true);
  const pods = await createPods(storage, size.pods, (p) => ({
    namespace: `ns-${p % 50}`,
    name: `pod-${p}`,
    nodeName: `node-${nodeOf(p)}`,
    labels: podLabels(p, Math.max(1, size.labelWatchers)),
    bytes: ctx.sizes.podBytes,
  }));

  const { cacher, baseline } = startCacher(storage, ctx.workers);
  try {
    await readyAndWarm(ctx, tag, storage, cacher, pods);
    const hub = new DeliveryHub();
    const from: WatchOptions = { resourceVersion: String(cacher.revision), allowWatchBookmarks: true };

    ctx.progress(`${tag} ${size.nodeWatchers} node watchers (idle memory)`, true);
    const idle = await idleWatchers(size.nodeWatchers, hub, (sink, i) => cacher.watchFrames({ ...SINK_WATCH, ...from, fieldSelector: `spec.nodeName=node-${i}` }, sink));

    for (let i = 0; i < size.clusterWatchers; i++) {
      const sink = hub.sink();
      sink.watch = await cacher.watchFrames({ ...SINK_WATCH, ...from }, sink);
    }
    for (let j = 0; j < size.labelWatchers; j++) {
      const sink = hub.sink();
      sink.watch = await cacher.watchFrames({ ...SINK_WATCH, ...from, labelSelector: labelSelector(j) }, sink);
    }
    await setTimeout(50);

    const expectedPerPod = pods.map((_, p) => (nodeOf(p) < size.nodeWatchers ? 1 : 0) + size.clusterWatchers + (size.labelWatchers > 0 ? 1 : 0));
    const steps: ThroughputRun[] = [];
    let best = -1;
    let written = 0;
    for (const rate of size.rates) {
      const label = `${tag} step ${formatRate(rate)}`;
      const step = await throughputRun({
        storage,
        cacher,
        baseline,
        hub,
        pods,
        expectedPerPod,
        firstWrite: written,
        rate,
        durationMs: size.stepMs,
        maxWrites: Math.ceil((rate * size.stepMs) / 1000),
        drainTimeoutMs: size.drainTimeoutMs,
        p99BoundMs: size.p99BoundMs,
        progress: ctx.progress,
        label,
      });
      written += step.writes;
      steps.push(step);
      const verdict = step.sustained ? 'held' : `broke: ${step.brokeBecause.join('; ')}`;
      ctx.progress(`${label}  p99 ${formatMs(step.latency.p99Ms)}  deliveries ${formatRate(step.deliveriesPerSec)}  ${verdict}`, true);
      if (!step.sustained) break;
      best = steps.length - 1;
      collect();
      await setTimeout(100);
    }
    return {
      scenario: 'kubelet',
      nodes: size.nodes,
      nodeWatchers: size.nodeWatchers,
      clusterWatchers: size.clusterWatchers,
      labelWatchers: size.labelWatchers,
      pods: size.pods,
      podBytes: pods[0]?.bytes.byteLength ?? 0,
      deliveriesPerWrite: expectedPerPod.reduce((a, b) => a + b, 0) / pods.length,
      idle,
      steps,
      best,
    };
  } finally {
    await cacher.stop();
    await storage.close();
  }
}

/**
 * Heap per idle watcher: (heap after creating N sinks and their watches − heap before) / N,
 * after full collections; registration is asynchronous, hence the turns before the reading. The
 * sink (any consumer has one in some form) is included; its own size is measured apart, on a
 * larger throwaway sample, because a 60-byte object is lost in the noise of N = 500.
 */
async function idleWatchers(
  n: number,
  hub: DeliveryHub,
  watch: (sink: CountingSink, i: number) => Promise<CountingSink['watch']>,
): Promise<IdleWatcherMemory> {
  const sinkBytes = measureSinks(hub);
  collect();
  const heap0 = heapUsed();
  const rss0 = rss();
  const sinks: CountingSink[] = [];
  for (let i = 0; i < n; i++) {
    const sink = hub.sink();
    sink.watch = await watch(sink, i);
    sinks.push(sink);
  }
  for (let i = 0; i < 3; i++) await setImmediate();
  await setTimeout(50);
  collect();
  const heap1 = heapUsed();
  const rss1 = rss();
  return {
    watchers: n,
    heapPerWatcherBytes: (heap1 - heap0) / n,
    sinkBytes,
    rssPerWatcherBytes: (rss1 - rss0) / n,
  };
}

function measureSinks(hub: DeliveryHub): number {
  const n = 20_000;
  collect();
  const before = heapUsed();
  const sinks: CountingSink[] = [];
  for (let i = 0; i < n; i++) sinks.push(hub.sink());
  collect();
  const after = heapUsed();
  // Read once more so the array is live until the reading above.
  return sinks.length === n ? (after - before) / n : Number.NaN;
}
