/**
 * The ready gate (KEP-4568): Pending ⇄ Ready → Stopped. While not ready, requests fail at once
 * with 429 and a Retry-After that grows with the downtime, instead of hanging. Each Pending→Ready
 * transition bumps the generation, so a watch that raced a relist can tell.
 */
import { ErrorCodes, WatchCacheError } from '../errors.js';
import type { Clock } from '../clock.js';

export type ReadyState = 'pending' | 'ready' | 'stopped';

export class ReadyGate {
  readonly #clock: Clock;
  #state: ReadyState = 'pending';
  #generation = 0;
  #changedAt: number;
  #lastError: string | undefined;
  #waiters: Array<() => void> = [];

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#changedAt = clock.now();
  }

  get state(): ReadyState {
    return this.#state;
  }

  get generation(): number {
    return this.#generation;
  }

  setReady(): void {
    if (this.#state !== 'pending') return;
    this.#state = 'ready';
    this.#generation++;
    this.#changedAt = this.#clock.now();
    this.#lastError = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  setPending(error?: unknown): void {
    if (this.#state === 'stopped') return;
    if (error !== undefined) this.#lastError = error instanceof Error ? error.message : String(error);
    if (this.#state === 'ready') {
      this.#state = 'pending';
      this.#changedAt = this.#clock.now();
    }
  }

  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#changedAt = this.#clock.now();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Seconds a client should wait: clamp(exp(0.06 × downtime s), 1, 30), as kube-apiserver. */
  retryAfterSeconds(): number {
    const downtime = Math.max(0, this.#clock.now() - this.#changedAt) / 1000;
    return Math.min(30, Math.max(1, Math.floor(Math.exp(0.06 * downtime))));
  }

  /** Throws WC_ERR_NOT_READY (with Retry-After) or WC_ERR_STOPPED unless ready; returns the generation. */
  check(): number {
    if (this.#state === 'ready') return this.#generation;
    throw this.unavailable();
  }

  /** The error a request gets while not ready: WC_ERR_NOT_READY (with Retry-After), or WC_ERR_STOPPED. */
  unavailable(): WatchCacheError {
    if (this.#state === 'stopped') return new WatchCacheError(ErrorCodes.STOPPED, 'watch cache is stopped');
    const suffix = this.#lastError === undefined ? '' : `: ${this.#lastError}`;
    return new WatchCacheError(ErrorCodes.NOT_READY, `storage is (re)initializing${suffix}`, {
      retryAfterSeconds: this.retryAfterSeconds(),
    });
  }

  /** Resolves once ready (or stopped). */
  wait(): Promise<void> {
    if (this.#state !== 'pending') return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
