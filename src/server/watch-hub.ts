/**
 * The HTTP watches of one server: admission against the watcher limit, one shared heartbeat
 * timer (instead of a timer per watch), and ending them all on shutdown.
 */
import { ErrorCodes, WatchCacheError } from '../errors.js';
import { tooManyWatchers } from './api-error.js';

/** What the hub needs of a running HTTP watch. */
export interface HubWatch {
  /** Called every heartbeat interval: write a keep-alive if idle, end if past the backstop. */
  tick(now: number): void;
  /** End the stream cleanly (no ERROR event): the server is shutting down. */
  endFromServer(): void;
}

export class WatchHub {
  readonly #watches = new Set<HubWatch>();
  readonly #max: number;
  #admitted = 0;
  #closing = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(maxWatchers: number, heartbeatMs: number) {
    this.#max = maxWatchers;
    this.#timer = setInterval(() => this.#tick(), heartbeatMs);
    // Keep-alives are housekeeping: they must not keep a stopped process running.
    this.#timer.unref();
  }

  /** Watches admitted and not yet ended (including ones still starting). */
  get count(): number {
    return this.#admitted;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Takes a slot or throws 429; every admit is matched by one release. */
  admit(): void {
    if (this.#closing) throw new WatchCacheError(ErrorCodes.STOPPED, 'the server is shutting down');
    if (this.#admitted >= this.#max) throw tooManyWatchers(this.#max, 1);
    this.#admitted++;
  }

  release(): void {
    this.#admitted--;
  }

  add(watch: HubWatch): void {
    this.#watches.add(watch);
  }

  delete(watch: HubWatch): void {
    this.#watches.delete(watch);
  }

  /** Refuse new watches and end the running ones cleanly. */
  close(): void {
    this.#closing = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const watch of [...this.#watches]) watch.endFromServer();
  }

  #tick(): void {
    const now = Date.now();
    for (const watch of this.#watches) watch.tick(now);
  }
}
