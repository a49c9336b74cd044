/**
 * Asks the store for a progress notification every 100 ms while anyone waits for the cache to
 * become fresh (kube-apiserver's ConditionalProgressRequester). The notification comes back
 * through the reflector's watch and advances the cache revision without an event, so a
 * consistent read on an idle resource returns in about one round trip instead of timing out.
 */
import type { Storage } from '../storage/storage.js';
import type { Clock, Timer } from '../clock.js';

const PROGRESS_REQUEST_PERIOD_MS = 100;

export class ProgressRequester {
  readonly #storage: Storage;
  readonly #clock: Clock;
  #waiting = 0;
  #timer: Timer | undefined;
  #stopped = false;

  constructor(storage: Storage, clock: Clock) {
    this.#storage = storage;
    this.#clock = clock;
  }

  /** One more waiter; the returned function says it is done waiting. */
  add(): () => void {
    this.#waiting++;
    if (this.#waiting === 1) this.#request();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#waiting--;
      if (this.#waiting === 0) {
        this.#timer?.cancel();
        this.#timer = undefined;
      }
    };
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #request(): void {
    if (this.#stopped || this.#waiting === 0) return;
    // A failed request is retried on the next period; the waiter's own timeout bounds the wait.
    this.#storage.requestProgress().catch(() => undefined);
    this.#timer = this.#clock.setTimer(PROGRESS_REQUEST_PERIOD_MS, () => this.#request());
  }
}
