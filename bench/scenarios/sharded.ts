/**
 * Sharded controllers (KEP-5866): R replicas of a controller split the pods between them. Either
 * every replica watches the full stream and drops what is not its own (client-side sharding:
 * R deliveries per event, one of them useful), or each watches its own shardSelector range
 * (server-side: one delivery per event). Every write is useful to exactly one replica, so
 * deliveries and CPU per useful event are per write; the same writes are timed in both modes.
 */
import { setTimeout } from 'node:timers/promises';
import { MemoryStorage, shardRangeText } from '../../src/index.js';
import { DeliveryHub, SINK_WATCH } from '../consumer.js';
import { formatMs, formatRate } from '../format.js';
import { collect } from '../measure/memory.js';
import type { ShardedMode, ShardedResult } from '../types.js';
import { createPods, readyAndWarm, startCacher, type ScenarioContext } from './context.js';
import { podLabels } from './selectors.js';
import { throughputRun, type RunOptions } from './throughput.js';

export async function sharded(ctx: ScenarioContext): Promise<ShardedResult> {
  const size = ctx.sizes.sharded;
  const tag = `[sharded w=${ctx.workers}]`;
  const storage = new MemoryStorage();
  ctx.progress(`${tag} creating ${size.pods} pods`, true);
  const pods = await createPods(storage, size.pods, (p) => ({
    namespace: `ns-${p % 50}`,
    name: `pod-${p}`,
    nodeName: `node-${p % 5000}`,
    labels: podLabels(p, 1000),
    bytes: ctx.sizes.podBytes,
  }));

  const { cacher, baseline } = startCacher(storage, ctx.workers);
  try {
    await readyAndWarm(ctx, tag, storage, cacher, pods);
    let next = 0;
    const measure = async (mode: 'full' | 'sharded'): Promise<ShardedMode> => {
      const hub = new DeliveryHub();
      const resourceVersion = String(cacher.revision);
      const sinks = [];
      for (let r = 0; r < size.replicas; r++) {
        const sink = hub.sink();
        const options = mode === 'full' ? { resourceVersion } : { resourceVersion, shardSelector: shardRangeText('uid', r, size.replicas) };
        sink.watch = await cacher.watchFrames({ ...SINK_WATCH, ...options }, sink);
        sinks.push(sink);
      }
      await setTimeout(50);
      const common: RunOptions = {
        storage,
        cacher,
        baseline,
        hub,
        pods,
        // Each pod's uid is in exactly one replica's range.
        expectedPerPod: pods.map(() => (mode === 'full' ? size.replicas : 1)),
        firstWrite: next,
        rate: null,
        durationMs: 0,
        maxWrites: size.maxWrites,
        maxInFlight: size.maxInFlight,
        drainTimeoutMs: 5000,
        p99BoundMs: Number.POSITIVE_INFINITY,
        progress: ctx.progress,
        label: `${tag} ${mode} warm-up`,
      };
      const warm = await throughputRun({ ...common, durationMs: Math.min(500, size.runMs / 4) });
      collect();
      await setTimeout(50);
      const label = `${tag} ${size.replicas} replicas, ${mode === 'full' ? 'full stream each' : 'one shard each'}`;
      const run = await throughputRun({ ...common, firstWrite: next + warm.writes, durationMs: size.runMs, label });
      next += warm.writes + run.writes;
      for (const sink of sinks) sink.watch?.stop();
      const useful = run.writes;
      const result: ShardedMode = {
        run,
        deliveriesPerUsefulEvent: useful === 0 ? null : run.deliveries / useful,
        cpuUsPerUsefulEvent: useful === 0 ? null : (run.window.processCpuMs * 1000) / useful,
      };
      ctx.progress(
        `${label}  events ${formatRate(run.eventsPerSec)}  deliveries/useful ${result.deliveriesPerUsefulEvent?.toFixed(2) ?? '-'}  ` +
          `CPU/useful ${result.cpuUsPerUsefulEvent?.toFixed(1) ?? '-'} µs  p99 ${formatMs(run.latency.p99Ms)}${run.sustained ? '' : `  broke: ${run.brokeBecause.join('; ')}`}`,
        true,
      );
      return result;
    };
    const full = await measure('full');
    const shardedRun = await measure('sharded');
    return { scenario: 'sharded', replicas: size.replicas, pods: size.pods, podBytes: pods[0]?.bytes.byteLength ?? 0, full, sharded: shardedRun };
  } finally {
    await cacher.stop();
    await storage.close();
  }
}
