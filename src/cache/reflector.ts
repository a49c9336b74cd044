/**
 * The reflector: list (paged, at one pinned revision) → replace the cache → watch from the list
 * revision + 1 → apply, until the watch ends; then relist after a backoff. Any end of the watch
 * (compaction, a dead stream, an error) makes the cache pending again, and the next successful
 * list makes it ready, as kube-apiserver's Cacher.startCaching.
 */
import { isWatchCacheError } from '../errors.js';
import type { KeyValue, Storage } from '../storage/storage.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { Clock, Timer } from '../clock.js';
import type { ReadyGate } from './ready.js';
import type { WatchCache } from './watch-cache.js';

/** kube-apiserver lists its own storage in pages of 10,000 (storageWatchListPageSize). */
const LIST_PAGE_SIZE = 10_000;

export interface ReflectorOptions {
  storage: Storage;
  prefix: string;
  cache: WatchCache;
  ready: ReadyGate;
  clock: Clock;
  pageSize?: number;
  backoff?: BackoffOptions;
  /** Told of every failed list-and-watch, with the error (for logs and metrics). */
  onError?: (err: unknown) => void;
}

export interface ReflectorStats {
  /** Successful lists (the first one included). */
  lists: number;
  /** List-and-watch attempts that ended in an error (watch ends included). */
  errors: number;
  /** Code of the last error, e.g. WC_ERR_COMPACTED. */
  lastErrorCode: string | undefined;
}

export class Reflector {
  readonly stats: ReflectorStats = { lists: 0, errors: 0, lastErrorCode: undefined };
  readonly #options: ReflectorOptions;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  #sleeping: { timer: Timer; wake: () => void } | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: ReflectorOptions) {
    this.#options = options;
    this.#backoff = new Backoff(options.backoff);
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#sleeping !== undefined) {
      this.#sleeping.timer.cancel();
      this.#sleeping.wake();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { ready, clock } = this.#options;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await this.#listAndWatch(signal);
        if (signal.aborted) break;
        throw new Error('the storage watch ended');
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        this.stats.lastErrorCode = isWatchCacheError(err) ? err.code : undefined;
        ready.setPending(err);
        this.#options.onError?.(err);
        await this.#sleep(this.#backoff.next(clock.now()));
      }
    }
  }

  async #listAndWatch(signal: AbortSignal): Promise<void> {
    const { storage, prefix, cache, ready } = this.#options;
    const { items, revision } = await this.#list();
    if (signal.aborted) return;
    cache.replace(items, revision);
    this.stats.lists++;
    ready.setReady();
    for await (const batch of storage.watch(prefix, { fromRevision: revision + 1, progressNotify: true, signal })) {
      if (batch.kind === 'events') cache.apply(batch.events);
      else cache.progress(batch.revision);
    }
  }

  async #list(): Promise<{ items: KeyValue[]; revision: number }> {
    const { storage, prefix } = this.#options;
    const limit = this.#options.pageSize ?? LIST_PAGE_SIZE;
    // The first list of a store reopened with history starts there, and the watch replays the
    // rest into the window: watches from the previous process's resourceVersions are served.
    const from = this.stats.lists === 0 ? storage.historyStart?.() : undefined;
    const first = await storage.list(prefix, from === undefined ? { limit } : { limit, revision: from });
    const items = first.items;
    let page = first;
    while (page.more) {
      page = await storage.list(prefix, { limit, revision: first.revision, continueKey: page.continueKey! });
      for (const item of page.items) items.push(item);
    }
    return { items, revision: first.revision };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#sleeping = undefined;
        resolve();
      };
      this.#sleeping = { timer: this.#options.clock.setTimer(ms, wake), wake };
    });
  }
}
