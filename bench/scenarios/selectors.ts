/**
 * The label sets of the benchmark's pods and the label selectors of its watchers, built so that
 * every pod matches exactly one selector of a family of M: pod p carries app=app-(p mod M), and
 * selector j requires app=app-j in one of four spellings plus a requirement every pod meets.
 * Distinct selectors, mixed operators, and an exact count of expected deliveries.
 */

const TIERS = ['web', 'api', 'db'] as const;

export function podLabels(p: number, m: number): Record<string, string> {
  return {
    app: `app-${p % m}`,
    tier: TIERS[p % 3]!,
    track: p % 2 === 0 ? 'stable' : 'canary',
    'pod-template-hash': '7d9f8b6c5',
  };
}

export function labelSelector(j: number): string {
  switch (j % 4) {
    case 0:
      return `app=app-${j}`;
    case 1:
      return `app in (app-${j}),tier!=none`;
    case 2:
      return `app==app-${j},track`;
    default:
      return `app=app-${j},!experimental,tier in (api,db,web)`;
  }
}
