/**
 * What a client process checks, per watcher: a watcher's expected events are known from the
 * workload alone (workload.ts): write s updates pod s % pods; the "all" mix wants every write,
 * the kubelet mix watcher w the writes of node-w's pods. Two writes of one pod are never in
 * flight together, so a watcher sees each pod's sequence numbers strictly increasing: a number
 * not above the last one seen for that pod is a duplicate, and a watcher that received as many
 * events as it was owed, each new and its own, received exactly them.
 */
import { Histogram } from './histogram.js';
import type { ClientOpen, ClientStats } from './protocol.js';
import { nodeOf, wallNow, type Mark } from './workload.js';

export class Verifier {
  readonly #o: ClientOpen;
  /** Last sequence number seen per (watcher, pod). */
  readonly #last: Int32Array;
  readonly #received: Float64Array;
  readonly #expected: Float64Array;
  #expectedUpTo: number;
  #receivedTotal = 0;
  #expectedTotal = 0;
  #receivedAtDrain = 0;
  #expectedAtDrain = 0;
  duplicates = 0;
  extra = 0;
  filtered = 0;
  errors = 0;
  firstError: string | null = null;
  readonly histogram: Histogram;

  constructor(o: ClientOpen) {
    this.#o = o;
    this.#last = new Int32Array(o.count * o.layout.pods).fill(o.baseSeq - 1);
    this.#received = new Float64Array(o.count);
    this.#expected = new Float64Array(o.count);
    this.#expectedUpTo = o.baseSeq;
    this.histogram = new Histogram(o.lateMs);
  }

  /** An event with a mark reached local watcher i. */
  event(i: number, mark: Mark | undefined, filterNode: boolean): void {
    if (mark === undefined) return this.error(`event without a mark`);
    const { layout, mix, first, baseSeq } = this.#o;
    if (mix === 'kubelet' && nodeOf(layout, mark.pod) !== first + i) {
      if (filterNode) this.filtered++;
      else this.extra++;
      return;
    }
    if (mark.seq < baseSeq || mark.pod >= layout.pods) {
      this.extra++;
      return;
    }
    const at = i * layout.pods + mark.pod;
    if (mark.seq <= this.#last[at]!) {
      this.duplicates++;
      return;
    }
    this.#last[at] = mark.seq;
    this.#received[i]!++;
    this.#receivedTotal++;
    this.histogram.record(wallNow() - mark.sentAt);
  }

  error(text: string): void {
    this.errors++;
    this.firstError ??= text.slice(0, 300);
  }

  /** Adds what the writes below upTo owe, but for those the server refused. */
  owe(upTo: number, refused: ReadonlySet<number> = new Set()): void {
    const { layout, mix, first, count } = this.#o;
    for (let s = this.#expectedUpTo; s < upTo; s++) {
      if (refused.has(s)) continue;
      if (mix === 'all') {
        for (let i = 0; i < count; i++) this.#expected[i]!++;
        this.#expectedTotal += count;
      } else {
        const i = nodeOf(layout, s % layout.pods) - first;
        if (i >= 0 && i < count) {
          this.#expected[i]!++;
          this.#expectedTotal++;
        }
      }
    }
    this.#expectedUpTo = Math.max(this.#expectedUpTo, upTo);
  }

  get complete(): boolean {
    return this.#receivedTotal >= this.#expectedTotal;
  }

  stats(drainMs: number): ClientStats {
    let missing = 0;
    for (let i = 0; i < this.#o.count; i++) missing += Math.max(0, this.#expected[i]! - this.#received[i]!);
    const stats: ClientStats = {
      received: this.#receivedTotal - this.#receivedAtDrain,
      expected: this.#expectedTotal - this.#expectedAtDrain,
      missing,
      duplicates: this.duplicates,
      extra: this.extra,
      filtered: this.filtered,
      errors: this.errors,
      firstError: this.firstError,
      histogram: this.histogram.toJSON(),
      drainMs,
    };
    this.#receivedAtDrain = this.#receivedTotal;
    this.#expectedAtDrain = this.#expectedTotal;
    this.histogram.reset();
    return stats;
  }
}
