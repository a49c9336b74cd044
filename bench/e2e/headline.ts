/**
 * The numbers of one system in one mix that the summary, the CSV and the chart show: its
 * sustained step (the last that held) and the ratios to the floor, to etcd direct and to
 * grpc-proxy at their own sustained steps.
 */
import type { E2eMixResult, E2eResult, E2eStep, SystemName } from './types.js';
import type { Mix } from './workload.js';

export interface E2eHeadline {
  system: SystemName;
  mix: Mix;
  status: string;
  /** The sustained step, or null when none held (or the mix did not run). */
  best: E2eStep | null;
  /** The step that broke, if any. */
  broke: E2eStep | null;
  /** Sustained deliveries/s ÷ the reference's; server CPU per delivery ÷ the reference's. */
  vs: Record<Reference, { deliveries: number | null; cpu: number | null }>;
  /** The final check found every delivery the mix owed, once, and nothing else. */
  verified: boolean;
}

export const REFERENCES = { floor: 'floor', etcd: 'etcd-direct', proxy: 'etcd-grpc-proxy' } as const satisfies Record<string, SystemName>;
export type Reference = keyof typeof REFERENCES;

function mixOf(e2e: E2eResult, system: SystemName, mix: Mix): E2eMixResult | undefined {
  return e2e.systems.find((s) => s.system === system)?.mixes[mix];
}

function bestStep(m: E2eMixResult | undefined): E2eStep | null {
  return m === undefined || m.best < 0 ? null : m.steps[m.best]!;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
}

export function e2eHeadlines(e2e: E2eResult): E2eHeadline[] {
  const out: E2eHeadline[] = [];
  for (const mix of ['all', 'kubelet'] as const) {
    for (const s of e2e.systems) {
      const m = s.mixes[mix];
      if (m === undefined && s.status === 'ok') continue;
      const best = bestStep(m);
      const last = m?.steps[m.steps.length - 1];
      const vs = {} as E2eHeadline['vs'];
      for (const [key, ref] of Object.entries(REFERENCES) as Array<[Reference, SystemName]>) {
        const r = bestStep(mixOf(e2e, ref, mix));
        vs[key] = { deliveries: ratio(best?.deliveriesPerSec, r?.deliveriesPerSec), cpu: ratio(best?.serverUsPerDelivery, r?.serverUsPerDelivery) };
      }
      out.push({
        system: s.system,
        mix,
        status: m === undefined ? s.status : m.status,
        best,
        broke: last !== undefined && !last.held ? last : null,
        vs,
        verified: m?.final?.verified === true,
      });
    }
  }
  return out;
}

/** CPU of a window in % of one core. */
export function pctOfCore(ms: number | null, wallMs: number): number | null {
  return ms === null || wallMs <= 0 ? null : (100 * ms) / wallMs;
}
