/**
 * The hot-path issue's targets as the benchmark judges them (bench/targets.ts): ratios between
 * modes and systems of one run, never absolute timings alone.
 */
import { describe, expect, it } from 'vitest';
import { checkTargets } from '../../bench/targets.js';
import type { E2eMixResult, E2eResult, E2eStep, SystemName } from '../../bench/e2e/types.js';
import type { BenchReport, ModeResult, TargetCheck } from '../../bench/types.js';

function mode(scenario: ModeResult['scenario'], workers: number, headline: Record<string, number | null>): ModeResult {
  return { scenario, workers, status: 'ok', durationMs: 1, headline } as ModeResult;
}

function byId(checks: TargetCheck[], id: string): TargetCheck {
  const check = checks.find((c) => c.id === id);
  if (check === undefined) throw new Error(`no check ${id} in ${checks.map((c) => c.id).join(', ')}`);
  return check;
}

function step(deliveriesPerSec: number, frontUs: number | null, serverUs: number, held = true, brokeBecause: string[] = []): E2eStep {
  return { rate: 1, deliveriesPerSec, frontUsPerDelivery: frontUs, serverUsPerDelivery: serverUs, held, brokeBecause } as unknown as E2eStep;
}

function mix(steps: E2eStep[]): E2eMixResult {
  const best = steps.reduce((b, s, i) => (s.held ? i : b), -1);
  return { status: 'ok', steps, best, final: { verified: true } } as unknown as E2eMixResult;
}

function e2e(systems: Array<[SystemName, E2eStep[], E2eStep[]]>): E2eResult {
  return { systems: systems.map(([system, all, kubelet]) => ({ system, status: 'ok', mixes: { all: mix(all), kubelet: mix(kubelet) } })) } as unknown as E2eResult;
}

describe('benchmark targets', () => {
  it('judges the worker modes against inline on the same run: 1.3x on kubelet, 2x on selector-heavy, never below', () => {
    const scenarios: BenchReport['scenarios'] = {
      kubelet: {
        '0': mode('kubelet', 0, { deliveriesPerSec: 1_000_000, bestRate: 10_000 }),
        '1': mode('kubelet', 1, { deliveriesPerSec: 1_400_000, bestRate: 15_000 }),
        '2': mode('kubelet', 2, { deliveriesPerSec: 900_000, bestRate: 7_000 }),
      },
      'selector-heavy': { '0': mode('selector-heavy', 0, { eventsPerSec: 1000 }), '1': mode('selector-heavy', 1, { eventsPerSec: 1900 }) },
    };
    const checks = checkTargets(scenarios, [0, 1, 2]);
    expect(byId(checks, 'kubelet-speedup')).toMatchObject({ status: 'PASS', measured: 1.4 });
    expect(byId(checks, 'selector-heavy-speedup')).toMatchObject({ status: 'MISS', measured: 1.9 });
    expect(byId(checks, 'kubelet-not-below-w0-w2').status).toBe('MISS');
    expect(byId(checks, 'kubelet-deliveries-best')).toMatchObject({ status: 'MISS', measured: 1_400_000, note: 'workers=1' });
  });

  it('judges watchcache over etcd end to end against the floor, etcd direct and grpc-proxy measured in the same run', () => {
    const run = e2e([
      ['floor', [step(800_000, 0.8, 0.8)], [step(8000, 17, 17)]],
      ['etcd-direct', [step(90_000, null, 7)], [step(50, null, 7, false, ['p99 3 s > 1000 ms'])]],
      ['etcd-grpc-proxy', [step(50_000, 10, 15)], []],
      ['watchcache-etcd-w0', [step(700_000, 1.0, 3)], [step(3000, 40, 90), step(4000, 40, 90, false, ['writer reached 3,800/s of 4,000/s'])]],
      ['watchcache-etcd-w1', [step(650_000, 1.3, 3.5)], [step(3000, 60, 110), step(4000, 60, 110, false, ['p99 2 s > 1000 ms'])]],
    ]);
    const checks = checkTargets({}, [0, 1], run);
    expect(byId(checks, 'e2e-all-vs-floor')).toMatchObject({ status: 'PASS', measured: 0.875 });
    expect(byId(checks, 'e2e-all-cpu-vs-floor').measured).toBeCloseTo(1.25);
    expect(byId(checks, 'e2e-all-vs-etcd').status).toBe('PASS');
    expect(byId(checks, 'e2e-all-vs-proxy').status).toBe('PASS');
    expect(byId(checks, 'e2e-kubelet-cpu-vs-floor')).toMatchObject({ status: 'PASS' });
    expect(byId(checks, 'e2e-kubelet-kept-up-watchcache-etcd-w0').status).toBe('PASS');
    expect(byId(checks, 'e2e-kubelet-kept-up-watchcache-etcd-w1').status).toBe('MISS');
    expect(byId(checks, 'e2e-all-etcd-w1-not-below-w0').status).toBe('MISS');
  });
});
