/** The end-to-end scenario's part of the summary on stdout: one table per mix. */
import { cell } from '../format.js';
import { e2eHeadlines, pctOfCore, type E2eHeadline } from './headline.js';
import type { E2eResult } from './types.js';

function ratio(x: number | null): string {
  return x === null ? '-' : `${cell(x, 2)}×`;
}

function row(h: E2eHeadline): string[] {
  const s = h.best;
  if (h.status !== 'ok') return [h.system, h.status, '', '', '', '', '', '', '', '', '', ''];
  const verdict = h.broke === null ? '' : ` (broke at ${cell(h.broke.rate)}: ${h.broke.brokeBecause[0] ?? ''})`;
  if (s === null) return [h.system, `none held${verdict}`, '', '', '', '', '', '', '', '', '', h.verified ? 'yes' : 'NO'];
  const front = s.frontUsPerDelivery === null ? '-' : cell(s.frontUsPerDelivery, 2);
  const store = s.storeUsPerDelivery === null ? '-' : cell(s.storeUsPerDelivery, 2);
  return [
    h.system,
    `${cell(s.rate)}/s`,
    cell(s.deliveriesPerSec),
    `${cell(s.p50Ms, 1)} / ${cell(s.p99Ms, 1)}`,
    `${cell(s.serverUsPerDelivery, 2)} (${front} + ${store})`,
    cell(s.clientUsPerDelivery, 2),
    `${cell(s.frontRssMiB)} / ${cell(s.storeRssMiB)}`,
    `${cell(pctOfCore(s.cpu.foreignMs, s.cpu.wallMs))} / ${cell(pctOfCore(s.cpu.otherMs, s.cpu.wallMs))}`,
    `${ratio(h.vs.floor.deliveries)} ${ratio(h.vs.floor.cpu)}`,
    `${ratio(h.vs.etcd.deliveries)} ${ratio(h.vs.etcd.cpu)}`,
    `${ratio(h.vs.proxy.deliveries)} ${ratio(h.vs.proxy.cpu)}`,
    h.verified ? 'yes' : 'NO',
  ];
}

export function e2eSummary(e2e: E2eResult, table: (header: string[], rows: string[][], right?: number[]) => string): string {
  const headlines = e2eHeadlines(e2e);
  const out = [
    `End to end: ${e2e.watchers} watchers in ${e2e.clients} client processes, ${e2e.pods} pods of ${e2e.podBytes} B, steps of ${e2e.stepMs / 1000} s; a step holds when every delivery arrives within ${e2e.rule.lateMs / 1000} s, p99 <= ${e2e.rule.p99BoundMs} ms, nothing is missing, duplicated or extra, and the writer reaches ${e2e.rule.minWriteFraction * 100} % of the rate`,
  ];
  const header = ['system', 'sustained writes', 'deliveries/s', 'p50 / p99 ms', 'server µs/deliv (front + store)', 'client µs/deliv', 'RSS MiB front / store', 'CPU % foreign / other', 'vs floor (deliv, CPU)', 'vs etcd', 'vs grpc-proxy', 'verified'];
  for (const mix of ['all', 'kubelet'] as const) {
    const rows = headlines.filter((h) => h.mix === mix).map(row);
    if (rows.length === 0) continue;
    out.push(`\n${mix} mix`);
    out.push(table(header, rows, [1, 2, 5]));
  }
  for (const s of e2e.systems) if (s.status !== 'ok') out.push(`${s.system}: ${s.status}: ${(s.message ?? '').split('\n', 1)[0]}`);
  return out.join('\n');
}
