/**
 * One measured throughput run, shared by the kubelet steps and the selector-heavy run: writes at
 * a rate (or as fast as deliveries keep up), then waits for every delivery the writes owe, and
 * judges whether the cache kept up. Expected deliveries are known exactly because each pod's
 * labels and node never change: every write of pod p reaches the same watchers.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers/promises';
import type { Cacher, MemoryStorage } from '../../src/index.js';
import type { DeliveryHub } from '../consumer.js';
import type { PodTemplate } from '../fixtures/pods.js';
import { startWindow } from '../measure/window.js';
import type { ThreadTimes } from '../measure/threads.js';
import { runWrites } from '../writer.js';
import type { ThroughputRun } from '../types.js';
import { formatCount, formatRate } from '../format.js';

export interface RunOptions {
  storage: MemoryStorage;
  cacher: Cacher;
  baseline: ThreadTimes | null;
  hub: DeliveryHub;
  pods: readonly PodTemplate[];
  /** Deliveries one write of pod i causes. */
  expectedPerPod: readonly number[];
  /** Pods are written round robin from here; the next run continues where this one ended. */
  firstWrite: number;
  rate: number | null;
  durationMs: number;
  maxWrites: number;
  /** For rate = null: writes allowed ahead of their deliveries. */
  maxInFlight?: number;
  drainTimeoutMs: number;
  p99BoundMs: number;
  progress(text: string, milestone?: boolean): void;
  label: string;
}

export async function throughputRun(o: RunOptions): Promise<ThroughputRun> {
  const { hub, pods, expectedPerPod, storage } = o;
  const before = o.cacher.stats();
  const delivered0 = hub.total;
  const acks0 = hub.acks;
  hub.latency.reset();
  let expected = 0;
  let failures = 0;
  const onFailure = (): void => {
    failures++;
  };
  const perWrite = expectedPerPod.reduce((a, b) => a + b, 0) / pods.length;
  const window = await startWindow({ baseline: o.baseline, stats: () => o.cacher.stats() });
  let lastDelivered = delivered0;
  let lastAt = performance.now();

  const writes = await runWrites({
    rate: o.rate,
    durationMs: o.durationMs,
    maxWrites: o.maxWrites,
    batch: o.rate === null ? 256 : Math.max(64, Math.ceil(o.rate / 50)),
    ...(o.maxInFlight === undefined ? {} : { maxInFlight: o.maxInFlight, inFlight: () => (expected - (hub.total - delivered0)) / perWrite }),
    write: (i) => {
      const p = (o.firstWrite + i) % pods.length;
      const pod = pods[p]!;
      expected += expectedPerPod[p]!;
      storage.update(pod.key, pod.stamp(performance.now())).then(undefined, onFailure);
    },
    onProgress: (n) => {
      const now = performance.now();
      const rate = ((hub.total - lastDelivered) * 1000) / (now - lastAt);
      lastDelivered = hub.total;
      lastAt = now;
      const lag = expected - (hub.total - delivered0);
      o.progress(`${o.label}  writes ${formatCount(n)}  deliveries ${formatRate(rate)}  behind ${formatCount(Math.max(0, lag))}`);
    },
  });

  // Drain: every delivery these writes owe, or the timeout (then the run lagged or lost some).
  const drainStart = performance.now();
  while (hub.total - delivered0 < expected && performance.now() - drainStart < o.drainTimeoutMs) await setTimeout(1);
  const end = performance.now();
  const metrics = window.stop();
  const after = o.cacher.stats();

  const deliveries = hub.total - delivered0;
  const seconds = (end - writes.firstAt) / 1000;
  const latency = hub.latency.summary();
  const terminated: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after.terminated)) {
    const d = n - (before.terminated[reason] ?? 0);
    if (d > 0) terminated[reason] = d;
  }
  const relists = after.reflector.lists - before.reflector.lists;

  const broke: string[] = [];
  let writerShort = false;
  if (o.rate !== null) {
    const achieved = (writes.writes * 1000) / o.durationMs;
    writerShort = achieved < 0.9 * o.rate;
    if (writerShort) broke.push(`writes fell short: ${formatRate(achieved)} of ${formatRate(o.rate)} (main thread saturated)`);
  }
  if (deliveries < expected) broke.push(`lag: ${formatCount(expected - deliveries)} of ${formatCount(expected)} deliveries missing ${o.drainTimeoutMs} ms after the last write`);
  if (latency.p99Ms !== null && latency.p99Ms > o.p99BoundMs) broke.push(`p99 ${latency.p99Ms.toFixed(0)} ms > ${o.p99BoundMs} ms`);
  if (Object.keys(terminated).length > 0) broke.push(`watchers closed: ${JSON.stringify(terminated)}`);
  if (relists > 0) broke.push(`the cache relisted ${relists}×`);
  if (failures > 0) broke.push(`${failures} writes failed`);

  return {
    targetRate: o.rate,
    writes: writes.writes,
    eventsPerSec: writes.writes / seconds,
    deliveries,
    acks: hub.acks - acks0,
    expectedDeliveries: expected,
    deliveriesPerSec: deliveries / seconds,
    drainMs: end - drainStart,
    latency,
    cpuUsPerDelivery: deliveries === 0 ? null : (metrics.processCpuMs * 1000) / deliveries,
    mainCpuUsPerDelivery: deliveries === 0 || metrics.mainThreadCpuMs === null ? null : (metrics.mainThreadCpuMs * 1000) / deliveries,
    terminated,
    relists,
    sustained: broke.length === 0,
    brokeBecause: broke,
    keptUp: broke.length === (writerShort ? 1 : 0),
    window: metrics,
  };
}
