/**
 * The issue's targets, judged from a run's results. They are judged here, by the benchmark, and
 * not by timed tests. Only the full profile has the issue's sizes; on --quick or --smoke the
 * verdicts are indicative.
 */
import type { BenchReport, ModeResult, ScenarioName, TargetCheck } from './types.js';

const SPEEDUP = 1.5;
const DELIVERIES = 1_000_000;
const LOOP_DELAY_MS = 50;
const HEAP_PER_WATCHER = 2048;

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

export function checkTargets(scenarios: Scenarios, workers: readonly number[]): TargetCheck[] {
  const checks: TargetCheck[] = [];

  if (scenarios['selector-heavy'] !== undefined) {
    const w0 = mode(scenarios, 'selector-heavy', 0);
    const w1 = mode(scenarios, 'selector-heavy', 1);
    const e0 = w0?.status === 'ok' ? w0.headline.eventsPerSec ?? null : null;
    const e1 = w1?.status === 'ok' ? w1.headline.eventsPerSec ?? null : null;
    const ratio = e0 !== null && e1 !== null && e0 > 0 ? e1 / e0 : null;
    checks.push({
      id: 'selector-heavy-speedup',
      description: 'selector-heavy: events/s of workers=1 over workers=0',
      bound: `>= ${SPEEDUP}x`,
      measured: ratio,
      unit: 'x',
      status: verdict(ratio, (r) => r >= SPEEDUP),
      note:
        ratio !== null
          ? `${Math.round(e1!)} vs ${Math.round(e0!)} events/s`
          : [w0?.status === 'ok' ? '' : notOk(w0, 0), w1?.status === 'ok' ? '' : notOk(w1, 1)].filter((s) => s !== '').join('; '),
    });
  }

  for (const w of workers) {
    if (scenarios.kubelet === undefined) break;
    const r = mode(scenarios, 'kubelet', w);
    const ok = r?.status === 'ok';
    const value = ok ? r.headline.deliveriesPerSec ?? null : null;
    const held = ok && r.headline.bestRate !== null && r.headline.bestRate !== undefined;
    checks.push({
      id: `kubelet-deliveries-w${w}`,
      description: `kubelet: in-process deliveries/s at the best sustained step, workers=${w}`,
      bound: '>= 1,000,000/s',
      measured: held ? value : null,
      unit: '/s',
      status: ok && !held ? 'MISS' : verdict(held ? value : null, (v) => v >= DELIVERIES),
      note: !ok
        ? notOk(r, w)
        : `${held ? `best step ${r.headline.bestRate} writes/s` : 'no step held'}; peak ${Math.round(r.headline.peakDeliveriesPerSec ?? 0)}/s with the main thread saturated`,
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
  return checks;
}
