/**
 * The few numbers per scenario and mode that the summary table, the CSV and the chart show,
 * taken from the full detail. Every scenario has the same core keys, so modes line up; null
 * means "not measured here", never zero.
 */
import type { InitialListResult, KubeletResult, ScenarioDetail, SelectorHeavyResult, ShardedResult, ThroughputRun, WindowBurstResult, WindowMetrics } from './types.js';

export type Headline = Record<string, number | null>;

export function headline(detail: ScenarioDetail): Headline {
  switch (detail.scenario) {
    case 'kubelet':
      return kubeletHeadline(detail);
    case 'selector-heavy':
      return selectorHeavyHeadline(detail);
    case 'initial-list':
      return initialListHeadline(detail);
    case 'window-burst':
      return windowBurstHeadline(detail);
    case 'sharded':
      return shardedHeadline(detail);
  }
}

function windowBurstHeadline(r: WindowBurstResult): Headline {
  return { gone410: r.gone410, peakWindowMiB: r.peakWindowBytes / (1024 * 1024), shortWindowEvictions: r.shortWindowEvictions };
}

function mean(values: number[] | null): number | null {
  return values === null || values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

export function runHeadline(run: ThroughputRun): Headline {
  return {
    eventsPerSec: run.eventsPerSec,
    deliveriesPerSec: run.deliveriesPerSec,
    latencyP50Ms: run.latency.p50Ms,
    latencyP99Ms: run.latency.p99Ms,
    cpuUsPerDelivery: run.cpuUsPerDelivery,
    mainCpuUsPerDelivery: run.mainCpuUsPerDelivery,
    mainElu: run.window.mainElu,
    workerElu: mean(run.window.workerElu),
    workerCpuMs: run.window.workerThreadsCpuMs,
    loopDelayP99Ms: run.window.loopDelayP99Ms,
    rssMiB: run.window.rssMiB,
    acksPerDelivery: run.deliveries === 0 ? null : run.acks / run.deliveries,
    foreignCpuPct: foreignPct(run.window),
  };
}

/** Other processes' CPU during the window, in % of one core. */
export function foreignPct(w: WindowMetrics): number | null {
  return w.foreignCpuMs === null || w.wallMs <= 0 ? null : (100 * w.foreignCpuMs) / w.wallMs;
}

function kubeletHeadline(k: KubeletResult): Headline {
  // No step held: show the first one, so the numbers say how it broke.
  const step = k.steps[k.best >= 0 ? k.best : 0];
  // The most the cache delivered while keeping up, the writer's shortfall aside (saturation).
  const kept = k.steps.filter((s) => s.keptUp);
  return {
    bestRate: k.best >= 0 ? k.steps[k.best]!.targetRate : null,
    peakDeliveriesPerSec: kept.length === 0 ? null : Math.max(...kept.map((s) => s.deliveriesPerSec)),
    peakEventsPerSec: kept.length === 0 ? null : Math.max(...kept.map((s) => s.eventsPerSec)),
    ...(step === undefined ? {} : runHeadline(step)),
    heapPerIdleWatcherBytes: k.idle.heapPerWatcherBytes,
    rssPerIdleWatcherBytes: k.idle.rssPerWatcherBytes,
  };
}

function selectorHeavyHeadline(s: SelectorHeavyResult): Headline {
  return runHeadline(s.run);
}

/** The sharded run's core numbers, and both modes' cost per useful event side by side. */
function shardedHeadline(s: ShardedResult): Headline {
  return {
    ...runHeadline(s.sharded.run),
    fullDeliveriesPerUsefulEvent: s.full.deliveriesPerUsefulEvent,
    fullCpuUsPerUsefulEvent: s.full.cpuUsPerUsefulEvent,
    fullEventsPerSec: s.full.run.eventsPerSec,
    shardedDeliveriesPerUsefulEvent: s.sharded.deliveriesPerUsefulEvent,
    shardedCpuUsPerUsefulEvent: s.sharded.cpuUsPerUsefulEvent,
  };
}

function initialListHeadline(r: InitialListResult): Headline {
  const out: Headline = { fillMs: r.fillMs };
  let worstDelay = 0;
  let worstBookmark = 0;
  let peak = 0;
  let foreign: number | null = null;
  for (const phase of r.phases) {
    const f = foreignPct(phase.window);
    if (f !== null) foreign = Math.max(foreign ?? 0, f);
    const times = phase.timeToBookmarkMs.map((t) => t ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    const n = phase.watchers;
    out[`w${n}.timeToBookmarkP50Ms`] = finite(times[Math.floor((times.length - 1) / 2)]);
    out[`w${n}.timeToBookmarkMaxMs`] = finite(times[times.length - 1]);
    out[`w${n}.loopDelayP99Ms`] = phase.window.loopDelayP99Ms;
    out[`w${n}.loopDelayMaxMs`] = phase.window.loopDelayMaxMs;
    out[`w${n}.mainElu`] = phase.window.mainElu;
    worstDelay = Math.max(worstDelay, phase.window.loopDelayP99Ms);
    worstBookmark = Math.max(worstBookmark, times[times.length - 1] ?? 0);
    peak = Math.max(peak, phase.peakRssMiB);
  }
  out.timeToBookmarkMaxMs = finite(worstBookmark);
  out.loopDelayP99Ms = worstDelay;
  out.peakRssMiB = peak;
  out.foreignCpuPct = foreign;
  return out;
}

function finite(n: number | undefined): number | null {
  return n === undefined || !Number.isFinite(n) ? null : n;
}
