/**
 * The end-to-end clients' account of deliveries (bench/e2e/verify.ts): from the workload alone
 * it knows what each watcher is owed, and it tells missing, duplicated and extra events apart.
 */
import { describe, expect, it } from 'vitest';
import type { ClientOpen } from '../../bench/e2e/protocol.js';
import { Verifier } from '../../bench/e2e/verify.js';
import { MarkedPod, readMark, type Layout, type Mark } from '../../bench/e2e/workload.js';

const layout: Layout = { pods: 6, nodes: 3, podBytes: 2048 };
const BASE = 6;

function verifier(mix: 'all' | 'kubelet', first = 0, count = 3): Verifier {
  const open: ClientOpen = { target: { kind: 'http', url: 'http://127.0.0.1:1' }, layout, mix, first, count, revision: '1', baseSeq: BASE, lateMs: 2000 };
  return new Verifier(open);
}

/** The mark write `seq` carries: it updates pod seq % pods. */
function mark(seq: number): Mark {
  return { pod: seq % layout.pods, seq, sentAt: Date.now() };
}

describe('the end-to-end delivery check', () => {
  it('reads back the pod, sequence number and send time a write was marked with', () => {
    const pod = new MarkedPod(layout, 4);
    const bytes = Buffer.from(`{"type":"MODIFIED","object":${pod.mark(1234).toString()}}\n`);
    const m = readMark(bytes);
    expect(m?.pod).toBe(4);
    expect(m?.seq).toBe(1234);
    expect(Math.abs(m!.sentAt - Date.now())).toBeLessThan(60_000);
    expect(JSON.parse(pod.bytes.toString()).spec.nodeName).toBe('node-1');
    expect(pod.bytes.length).toBeGreaterThanOrEqual(layout.podBytes);
  });

  it('all mix: every watcher is owed every write, and a complete account verifies', () => {
    const v = verifier('all');
    for (let s = BASE; s < BASE + 10; s++) for (let w = 0; w < 3; w++) v.event(w, mark(s), false);
    v.owe(BASE + 10);
    expect(v.complete).toBe(true);
    const stats = v.stats(0);
    expect(stats).toMatchObject({ received: 30, expected: 30, missing: 0, duplicates: 0, extra: 0, errors: 0 });
  });

  it('counts a write a watcher never got as missing', () => {
    const v = verifier('all');
    for (let s = BASE; s < BASE + 4; s++) for (let w = 0; w < 3; w++) if (!(w === 2 && s === BASE + 1)) v.event(w, mark(s), false);
    v.owe(BASE + 4);
    expect(v.complete).toBe(false);
    expect(v.stats(0)).toMatchObject({ received: 11, expected: 12, missing: 1 });
  });

  it('counts a write delivered twice as a duplicate, not as a delivery', () => {
    const v = verifier('all', 0, 1);
    v.event(0, mark(BASE), false);
    v.event(0, mark(BASE), false);
    v.owe(BASE + 1);
    expect(v.stats(0)).toMatchObject({ received: 1, expected: 1, missing: 0, duplicates: 1 });
  });

  it('kubelet mix: a watcher is owed only its node, another node\'s event is extra (or filtered for raw etcd watches)', () => {
    // Watchers 1 and 2 of nodes 0..2; pod p is on node p % 3.
    const v = verifier('kubelet', 1, 2);
    for (let s = BASE; s < BASE + 12; s++) {
      const node = (s % layout.pods) % layout.nodes;
      if (node >= 1) v.event(node - 1, mark(s), false);
    }
    v.event(0, mark(BASE), false); // pod 0 is on node 0, not watcher 1's node
    v.event(0, mark(BASE + 3), true); // pod 3, node 0: a raw etcd watcher drops it itself
    v.owe(BASE + 12);
    expect(v.stats(0)).toMatchObject({ received: 8, expected: 8, missing: 0, extra: 1, filtered: 1 });
  });

  it('owes nothing for a write the server refused', () => {
    const v = verifier('all', 0, 1);
    v.event(0, mark(BASE), false);
    v.event(0, mark(BASE + 2), false);
    v.owe(BASE + 3, new Set([BASE + 1]));
    expect(v.complete).toBe(true);
    expect(v.stats(0)).toMatchObject({ received: 2, expected: 2, missing: 0 });
  });

  it('an event from before the watchers started is extra', () => {
    const v = verifier('all', 0, 1);
    v.event(0, mark(BASE - 1), false);
    expect(v.stats(0)).toMatchObject({ received: 0, extra: 1 });
  });

  it('counts only what arrived since the previous drain as received, and missing across drains', () => {
    const v = verifier('all', 0, 1);
    v.event(0, mark(BASE), false);
    v.owe(BASE + 2);
    expect(v.stats(0)).toMatchObject({ received: 1, expected: 2, missing: 1 });
    v.event(0, mark(BASE + 1), false);
    v.owe(BASE + 2);
    expect(v.stats(0)).toMatchObject({ received: 1, expected: 0, missing: 0 });
  });
});
