/**
 * Commit→delivery latency, sampled: one delivery in SAMPLE_EVERY has its write time parsed out of
 * the frame (the stamp annotation) and compared with the time the sink got it. Parsing every
 * frame would make the benchmark's own sink the bottleneck it is measuring.
 */
import { performance } from 'node:perf_hooks';
import { readStamp } from '../fixtures/pods.js';
import type { LatencySummary } from '../types.js';

/** A power of two, so the sampling test is a mask. */
const SAMPLE_EVERY = 32;
const MAX_SAMPLES = 1 << 20;

export class LatencySampler {
  #seen = 0;
  #samples: number[] = [];
  readonly #mask: number;

  constructor(every = SAMPLE_EVERY) {
    this.#mask = every - 1;
  }

  /**
   * Called for every delivered frame, or once for a chunk of `frames` frames: a chunk that
   * crosses a sampling point is sampled by its first stamp (the oldest write in it).
   */
  offer(frame: Uint8Array, frames = 1): void {
    const before = this.#seen;
    this.#seen += frames;
    const crossed = ((before ^ this.#seen) & ~this.#mask) !== 0;
    if (!crossed || this.#samples.length >= MAX_SAMPLES) return;
    const written = readStamp(frame);
    if (written !== undefined) this.#samples.push(performance.now() - written);
  }

  reset(): void {
    this.#seen = 0;
    this.#samples = [];
  }

  summary(): LatencySummary {
    return summarize(this.#samples);
  }
}

export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { samples: 0, p50Ms: null, p99Ms: null, maxMs: null };
  const sorted = Float64Array.from(values).sort();
  return { samples: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1]! };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
