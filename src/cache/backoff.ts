/**
 * Relist backoff, as client-go's reflector: 800 ms doubling to 30 s, with jitter factor 1.0
 * (each wait is the step times 1..2), reset after two minutes without failure.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  resetAfterMs?: number;
  /** Source of randomness in [0, 1); injectable for deterministic tests. */
  random?: () => number;
}

export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #resetAfter: number;
  readonly #random: () => number;
  #step: number;
  #lastFailureAt = -Infinity;

  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 800;
    this.#max = options.maxMs ?? 30_000;
    this.#resetAfter = options.resetAfterMs ?? 120_000;
    this.#random = options.random ?? Math.random;
    this.#step = this.#initial;
  }

  /** The wait before the next attempt, given the failure happened at `now`. */
  next(now: number): number {
    if (now - this.#lastFailureAt >= this.#resetAfter) this.#step = this.#initial;
    this.#lastFailureAt = now;
    const wait = Math.min(this.#max, this.#step * (1 + this.#random()));
    this.#step = Math.min(this.#max, this.#step * 2);
    return wait;
  }
}
