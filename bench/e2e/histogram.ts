/**
 * A latency histogram every client keeps for every delivery: log-spaced buckets (5 % wide, from
 * 10 µs to about 20 minutes), so that recording costs one Math.log and an increment, and the
 * histograms of several processes merge by adding their counts.
 */
const MIN_MS = 0.01;
const GROWTH = 1.05;
const BUCKETS = 400;
const LOG_GROWTH = Math.log(GROWTH);

export class Histogram {
  readonly counts: number[];
  /** Samples above `lateMs` (see constructor). */
  late = 0;
  max = 0;
  readonly #lateMs: number;

  constructor(lateMs: number, counts?: readonly number[]) {
    this.#lateMs = lateMs;
    this.counts = counts === undefined ? new Array<number>(BUCKETS).fill(0) : [...counts];
  }

  record(ms: number): void {
    const v = ms < MIN_MS ? MIN_MS : ms;
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log(v / MIN_MS) / LOG_GROWTH));
    this.counts[i]!++;
    if (ms > this.#lateMs) this.late++;
    if (ms > this.max) this.max = ms;
  }

  add(other: { counts: readonly number[]; late: number; max: number }): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i] ?? 0;
    this.late += other.late;
    this.max = Math.max(this.max, other.max);
  }

  get count(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }

  /** The upper edge of the bucket holding the p-th percentile (nearest rank), ms; null when empty. */
  percentile(p: number): number | null {
    const total = this.count;
    if (total === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, MIN_MS * GROWTH ** (i + 1));
    }
    return this.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.late = 0;
    this.max = 0;
  }

  toJSON(): { counts: number[]; late: number; max: number } {
    return { counts: [...this.counts], late: this.late, max: this.max };
  }
}
