/**
 * The hot-path issue's targets (#10), judged from a run's results: ratios measured in one run,
 * by the benchmark and not by timed tests. Only the full profile has the issue's sizes; on
 * --quick or --smoke the verdicts are indicative.
 */
import { e2eHeadlines, type E2eHeadline } from './e2e/headline.js';
import type { E2eResult } from './e2e/types.js';
import type { BenchReport, ModeResult, ScenarioName, TargetCheck } from './types.js';

/** selector-heavy: workers=1 over workers=0. */
const SELECTOR_SPEEDUP = 2;
/** kubelet in-process: workers=1 over workers=0. */
const KUBELET_SPEEDUP = 1.3;
/** kubelet in-process, the best mode. */
const DELIVERIES = 1_500_000;
const LOOP_DELAY_MS = 50;
const HEAP_PER_WATCHER = 2048;
/** End to end, "all" mix, watchcache over etcd at its best mode. */
const E2E_VS_FLOOR = 0.8;
const E2E_CPU_VS_FLOOR = 1.5;
const E2E_VS_ETCD = 4;
const E2E_VS_PROXY = 8;
/** End to end, "kubelet" mix: server CPU per event over the floor's. */
const E2E_KUBELET_CPU_VS_FLOOR = 3;

type Scenarios = BenchReport['scenarios'];

function mode(scenarios: Scenarios, name: ScenarioName, workers: number): ModeResult | undefined {
  return scenarios[name]?.[String(workers)];
}

function notOk(result: ModeResult | undefined, workers: number): string {
  if (result === undefined) return `workers=${workers} not run`;
  return `workers=${workers} ${result.status}${result.message === undefined ? '' : `: ${firstLine(result.message)}`}`;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}

function verdict(measured: number | null, pass: (v: number) => boolean): TargetCheck['status'] {
  return measured === null ? 'N/A' : pass(measured) ? 'PASS' : 'MISS';
}

export function checkTargets(scenarios: Scenarios, workers: readonly number[], e2e: E2eResult | null = null): TargetCheck[] {
  const checks: TargetCheck[] = [];

  const speedup = (name: ScenarioName, w: number, key: 'eventsPerSec' | 'deliveriesPerSec', bound: number, id: string, description: string): void => {
    const base = mode(scenarios, name, 0);
    const other = mode(scenarios, name, w);
    const e0 = base?.status === 'ok' ? base.headline[key] ?? null : null;
    const e1 = other?.status === 'ok' ? other.headline[key] ?? null : null;
    const ratio = e0 !== null && e1 !== null && e0 > 0 ? e1 / e0 : null;
    checks.push({
      id,
      description,
      bound: `>= ${bound}x`,
      measured: ratio,
      unit: 'x',
      status: verdict(ratio, (r) => r >= bound),
      note:
        ratio !== null
          ? `${Math.round(e1!)} vs ${Math.round(e0!)} ${key === 'eventsPerSec' ? 'events' : 'deliveries'}/s`
          : [base?.status === 'ok' ? '' : notOk(base, 0), other?.status === 'ok' ? '' : notOk(other, w)].filter((t) => t !== '').join('; '),
    });
  };
  if (scenarios['selector-heavy'] !== undefined && workers.includes(0) && workers.includes(1)) {
    speedup('selector-heavy', 1, 'eventsPerSec', SELECTOR_SPEEDUP, 'selector-heavy-speedup', 'selector-heavy: events/s of workers=1 over workers=0');
  }
  if (scenarios.kubelet !== undefined && workers.includes(0) && workers.includes(1)) {
    speedup('kubelet', 1, 'deliveriesPerSec', KUBELET_SPEEDUP, 'kubelet-speedup', 'kubelet: deliveries/s of workers=1 over workers=0');
  }
  // Workers never below inline, on any throughput scenario.
  for (const name of ['kubelet', 'selector-heavy', 'sharded'] as const) {
    if (scenarios[name] === undefined || !workers.includes(0)) continue;
    const key = name === 'kubelet' ? 'deliveriesPerSec' : 'eventsPerSec';
    for (const w of workers) {
      if (w === 0) continue;
      speedup(name, w, key, 1, `${name}-not-below-w0-w${w}`, `${name}: workers=${w} not below workers=0`);
    }
  }

  if (scenarios.kubelet !== undefined) {
    let best: { w: number; value: number } | undefined;
    for (const w of workers) {
      const r = mode(scenarios, 'kubelet', w);
      const value = r?.status === 'ok' && r.headline.bestRate !== null && r.headline.bestRate !== undefined ? r.headline.deliveriesPerSec ?? null : null;
      if (value !== null && (best === undefined || value > best.value)) best = { w, value };
    }
    checks.push({
      id: 'kubelet-deliveries-best',
      description: 'kubelet: in-process deliveries/s at the best sustained step, best mode',
      bound: `>= ${DELIVERIES.toLocaleString('en-US')}/s`,
      measured: best?.value ?? null,
      unit: '/s',
      status: verdict(best?.value ?? null, (v) => v >= DELIVERIES),
      note: best === undefined ? 'no mode held a step' : `workers=${best.w}`,
    });
  }

  for (const w of workers) {
    if (scenarios['initial-list'] === undefined) break;
    const r = mode(scenarios, 'initial-list', w);
    const ok = r?.status === 'ok';
    const value = ok ? r.headline.loopDelayP99Ms ?? null : null;
    checks.push({
      id: `initial-list-loop-delay-w${w}`,
      description: `initial list: main-thread event-loop delay p99 (worst phase), workers=${w}`,
      bound: `<= ${LOOP_DELAY_MS} ms`,
      measured: value,
      unit: 'ms',
      status: verdict(value, (v) => v <= LOOP_DELAY_MS),
      note: ok ? `last initial-events-end bookmark after ${Math.round(r.headline.timeToBookmarkMaxMs ?? Number.NaN)} ms` : notOk(r, w),
    });
  }

  for (const w of workers) {
    if (scenarios['window-burst'] === undefined) break;
    const r = mode(scenarios, 'window-burst', w);
    const ok = r?.status === 'ok';
    const value = ok ? r.headline.gone410 ?? null : null;
    checks.push({
      id: `window-burst-410-w${w}`,
      description: `window burst (10x the write rate): watchers up to windowSeconds behind that got 410, workers=${w}`,
      bound: '0',
      measured: value,
      unit: '',
      status: verdict(value, (v) => v === 0),
      note: ok ? `peak window ${Math.round(r.headline.peakWindowMiB ?? 0)} MiB; young evictions ${r.headline.shortWindowEvictions}` : notOk(r, w),
    });
  }

  for (const w of workers) {
    if (scenarios.kubelet === undefined) break;
    const r = mode(scenarios, 'kubelet', w);
    const ok = r?.status === 'ok';
    const value = ok ? r.headline.heapPerIdleWatcherBytes ?? null : null;
    checks.push({
      id: `idle-watcher-heap-w${w}`,
      description: `heap per idle watcher (main isolate), workers=${w}`,
      bound: `<= ${HEAP_PER_WATCHER} B`,
      measured: value,
      unit: 'B',
      status: verdict(value, (v) => v <= HEAP_PER_WATCHER),
      note: !ok ? notOk(r, w) : w > 0 ? `main isolate only; RSS ${Math.round(r.headline.rssPerIdleWatcherBytes ?? 0)} B/watcher` : `RSS ${Math.round(r.headline.rssPerIdleWatcherBytes ?? 0)} B/watcher`,
    });
  }
  if (e2e !== null) checks.push(...e2eTargets(e2e));
  return checks;
}

/** The watchcache-over-etcd system with the most sustained deliveries/s in `mix`. */
function bestEtcdMode(headlines: readonly E2eHeadline[], mix: 'all' | 'kubelet'): E2eHeadline | undefined {
  let best: E2eHeadline | undefined;
  for (const h of headlines) {
    if (h.mix !== mix || !h.system.startsWith('watchcache-etcd-') || h.best === null) continue;
    if (best === undefined || h.best.deliveriesPerSec > best.best!.deliveriesPerSec) best = h;
  }
  return best;
}

function e2eTargets(e2e: E2eResult): TargetCheck[] {
  const headlines = e2eHeadlines(e2e);
  const checks: TargetCheck[] = [];
  const push = (id: string, description: string, bound: string, measured: number | null, pass: (v: number) => boolean, note: string): void => {
    checks.push({ id, description, bound, measured, unit: 'x', status: verdict(measured, pass), note });
  };
  const all = bestEtcdMode(headlines, 'all');
  const floorAll = headlines.find((h) => h.mix === 'all' && h.system === 'floor')?.best ?? null;
  const allNote = all === undefined ? 'no watchcache-etcd mode held a step' : `${all.system}: ${Math.round(all.best!.deliveriesPerSec)} deliveries/s`;
  push('e2e-all-vs-floor', 'e2e all mix: watchcache over etcd (best mode), sustained deliveries/s over the floor', `>= ${E2E_VS_FLOOR}x`, all?.vs.floor.deliveries ?? null, (v) => v >= E2E_VS_FLOOR, allNote);
  const front = all?.best?.frontUsPerDelivery ?? null;
  const floorCpu = floorAll?.serverUsPerDelivery ?? null;
  push(
    'e2e-all-cpu-vs-floor',
    'e2e all mix: server CPU per delivery (etcd excluded) over the floor',
    `<= ${E2E_CPU_VS_FLOOR}x`,
    front !== null && floorCpu !== null && floorCpu > 0 ? front / floorCpu : null,
    (v) => v <= E2E_CPU_VS_FLOOR,
    front === null || floorCpu === null ? allNote : `${front.toFixed(2)} vs ${floorCpu.toFixed(2)} µs`,
  );
  push('e2e-all-vs-etcd', 'e2e all mix: watchcache over etcd over etcd direct, sustained deliveries/s', `>= ${E2E_VS_ETCD}x`, all?.vs.etcd.deliveries ?? null, (v) => v >= E2E_VS_ETCD, allNote);
  push('e2e-all-vs-proxy', 'e2e all mix: watchcache over etcd over etcd grpc-proxy, sustained deliveries/s', `>= ${E2E_VS_PROXY}x`, all?.vs.proxy.deliveries ?? null, (v) => v >= E2E_VS_PROXY, allNote);

  const kubelet = bestEtcdMode(headlines, 'kubelet');
  const floorKubelet = headlines.find((h) => h.mix === 'kubelet' && h.system === 'floor')?.best ?? null;
  const kFront = kubelet?.best?.frontUsPerDelivery ?? null;
  const kFloor = floorKubelet?.serverUsPerDelivery ?? null;
  push(
    'e2e-kubelet-cpu-vs-floor',
    'e2e kubelet mix: server CPU per event (etcd excluded) over the floor',
    `<= ${E2E_KUBELET_CPU_VS_FLOOR}x`,
    kFront !== null && kFloor !== null && kFloor > 0 ? kFront / kFloor : null,
    (v) => v <= E2E_KUBELET_CPU_VS_FLOOR,
    kFront === null || kFloor === null ? 'not measured' : `${kubelet!.system}: ${kFront.toFixed(2)} vs ${kFloor.toFixed(2)} µs`,
  );
  // Kept up at every rate the writer reaches: the only step that broke, if any, broke because the writer fell short.
  for (const h of headlines) {
    if (h.mix !== 'kubelet' || !h.system.startsWith('watchcache-etcd-') || h.status !== 'ok') continue;
    const reasons = h.broke?.brokeBecause ?? [];
    const keptUp = reasons.every((r) => r.startsWith('writer reached'));
    checks.push({
      id: `e2e-kubelet-kept-up-${h.system}`,
      description: `e2e kubelet mix: ${h.system} keeps up at every rate the writer reaches`,
      bound: 'yes',
      measured: keptUp ? 1 : 0,
      unit: '',
      status: keptUp ? 'PASS' : 'MISS',
      note: h.broke === null ? `held every step up to ${h.best?.rate ?? 0} writes/s` : `broke at ${h.broke.rate} writes/s: ${reasons.join('; ')}`,
    });
  }
  // Workers never below inline, end to end.
  for (const store of ['memory', 'etcd'] as const) {
    for (const mix of ['all', 'kubelet'] as const) {
      const w0 = headlines.find((h) => h.mix === mix && h.system === `watchcache-${store}-w0`)?.best ?? null;
      for (const w of [1, 2]) {
        const h = headlines.find((x) => x.mix === mix && x.system === `watchcache-${store}-w${w}`);
        if (h === undefined || w0 === null) continue;
        const ratio = h.best === null ? 0 : h.best.deliveriesPerSec / w0.deliveriesPerSec;
        push(`e2e-${mix}-${store}-w${w}-not-below-w0`, `e2e ${mix} mix: watchcache-${store} workers=${w} not below workers=0`, '>= 1x', ratio, (v) => v >= 1, h.best === null ? 'no step held' : `${Math.round(h.best.deliveriesPerSec)} vs ${Math.round(w0.deliveriesPerSec)} deliveries/s`);
      }
    }
  }
  return checks;
}
