/**
 * Selector-heavy: M watchers with distinct label selectors and no trigger, so every event is
 * offered to all of them and only the predicates decide; writes as fast as deliveries keep up
 * (never more than `maxInFlight` ahead, so the ring is never lapped), for a bounded time. The
 * sustained events/s is what parallel dispatch should raise.
 */
import { setTimeout } from 'node:timers/promises';
import { MemoryStorage } from '../../src/index.js';
import { DeliveryHub, SINK_WATCH } from '../consumer.js';
import { formatMs, formatRate } from '../format.js';
import { collect } from '../measure/memory.js';
import type { SelectorHeavyResult } from '../types.js';
import { createPods, readyAndWarm, startCacher, type ScenarioContext } from './context.js';
import { labelSelector, podLabels } from './selectors.js';
import { throughputRun, type RunOptions } from './throughput.js';

export async function selectorHeavy(ctx: ScenarioContext): Promise<SelectorHeavyResult> {
  const size = ctx.sizes.selectorHeavy;
  const tag = `[selector-heavy w=${ctx.workers}]`;
  const storage = new MemoryStorage();
  ctx.progress(`${tag} creating ${size.pods} pods`, true);
  const pods = await createPods(storage, size.pods, (p) => ({
    namespace: `ns-${p % 50}`,
    name: `pod-${p}`,
    nodeName: `node-${p % 5000}`,
    labels: podLabels(p, size.watchers),
    bytes: ctx.sizes.podBytes,
  }));

  const { cacher, baseline } = startCacher(storage, ctx.workers);
  try {
    await readyAndWarm(ctx, tag, storage, cacher, pods);
    const hub = new DeliveryHub();
    ctx.progress(`${tag} ${size.watchers} watchers`, true);
    const resourceVersion = String(cacher.revision);
    for (let j = 0; j < size.watchers; j++) {
      const sink = hub.sink();
      sink.watch = await cacher.watchFrames({ ...SINK_WATCH, resourceVersion, labelSelector: labelSelector(j) }, sink);
    }
    await setTimeout(50);

    const common: RunOptions = {
      storage,
      cacher,
      baseline,
      hub,
      pods,
      expectedPerPod: pods.map(() => 1),
      firstWrite: 0,
      rate: null,
      durationMs: 0,
      maxWrites: size.maxWrites,
      maxInFlight: size.maxInFlight,
      drainTimeoutMs: 5000,
      p99BoundMs: Number.POSITIVE_INFINITY,
      progress: ctx.progress,
      label: `${tag} warm-up`,
    };
    // A short unmeasured run first, so the measured one sees optimized code.
    const warm = await throughputRun({ ...common, durationMs: Math.min(500, size.runMs / 4) });
    collect();
    await setTimeout(50);
    const label = `${tag} max rate`;
    const run = await throughputRun({ ...common, firstWrite: warm.writes, durationMs: size.runMs, label });
    ctx.progress(`${label}  events ${formatRate(run.eventsPerSec)}  p99 ${formatMs(run.latency.p99Ms)}${run.sustained ? '' : `  broke: ${run.brokeBecause.join('; ')}`}`, true);
    return {
      scenario: 'selector-heavy',
      watchers: size.watchers,
      pods: size.pods,
      podBytes: pods[0]?.bytes.byteLength ?? 0,
      run,
    };
  } finally {
    await cacher.stop();
    await storage.close();
  }
}
