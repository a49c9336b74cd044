/**
 * One Cacher per served resource, all created (and so list-watching) when the server is created.
 *
 * Why at start and not on first use: a lazily started cache would answer its first requests with
 * 429 while it lists, and the first watch of a resource would arrive before its window holds any
 * history, so resumes from an RV handed out by another instance would be 410. Starting every
 * cache up front makes "ready" mean "every resource is served", which is what /readyz and the
 * CLI's "serving on" line promise. The cost is one list and one store watch per resource, and a
 * ring per resource whose SharedArrayBuffer pages are only committed as events fill it.
 */
import { createCacher, type Cacher, type CacherOptions } from '../cache/cacher.js';
import type { Storage } from '../storage/storage.js';
import { groupVersion, type Registry, type ResourceDefinition } from './registry.js';
import { printerSpec } from './response-views.js';

/** Per-cacher tuning the server passes through (see CacherOptions). */
export type CacherTuning = Pick<
  CacherOptions,
  'windowSeconds' | 'windowMinBytes' | 'windowMaxBytes' | 'windowBytes' | 'bufferEvents' | 'bufferBytes' | 'stallBudgetMs' | 'pageSize' | 'clock' | 'backoff'
>;

export interface ResourceCache {
  readonly resource: ResourceDefinition;
  readonly cacher: Cacher;
}

export class ResourceCaches {
  readonly #caches = new Map<ResourceDefinition, Cacher>();
  /** One outstanding ready() per pending cacher, so polling /readyz does not pile up waiters. */
  readonly #waits = new Map<Cacher, Promise<boolean>>();
  #stopping: Promise<void> | undefined;

  constructor(
    registry: Registry,
    storage: Storage,
    options: {
      workers?: number;
      tuning?: CacherTuning;
      onError?: (resource: ResourceDefinition, err: unknown) => void;
      onDeliveryLatency?: (resource: ResourceDefinition, seconds: number) => void;
    },
  ) {
    try {
      for (const def of registry.resources) {
        // A resource's own windowBytes (a fixed window) replaces the server's window sizing.
        const { windowMinBytes, windowMaxBytes, ...fixed } = options.tuning ?? {};
        const tuning = def.windowBytes === undefined ? options.tuning : { ...fixed, windowBytes: def.windowBytes };
        const cacher = createCacher({
          ...tuning,
          storage,
          prefix: registry.prefixOf(def),
          kind: def.kind,
          apiVersion: groupVersion(def),
          printer: printerSpec(def),
          selectableFields: def.selectableFields,
          ...(def.trigger === undefined ? {} : { trigger: def.trigger }),
          // Threads for the fan-out resources (those with a trigger); the rest dispatch inline.
          ...(def.trigger === undefined ? { workers: 0 } : options.workers === undefined ? {} : { workers: options.workers }),
          ...(options.onError === undefined ? {} : { onError: (err: unknown) => options.onError!(def, err) }),
          ...(options.onDeliveryLatency === undefined ? {} : { onDeliveryLatency: (seconds: number) => options.onDeliveryLatency!(def, seconds) }),
        });
        this.#caches.set(def, cacher);
      }
    } catch (err) {
      // A later cacher refused its options: the ones already list-watching must not leak.
      void this.stop();
      throw err;
    }
  }

  get(def: ResourceDefinition): Cacher {
    return this.#caches.get(def)!;
  }

  entries(): ResourceCache[] {
    return [...this.#caches].map(([resource, cacher]) => ({ resource, cacher }));
  }

  /** Resolves once every cache has completed its first list. */
  async ready(): Promise<void> {
    await Promise.all([...this.#caches.values()].map((c) => c.ready()));
  }

  /**
   * The resources whose cache is not serving right now. The Cacher API exposes readiness only as
   * a promise (resolved at once when ready), so a cache counts as pending when that promise has
   * not settled by the next turn of the event loop.
   */
  async pending(): Promise<ResourceDefinition[]> {
    if (this.#stopping !== undefined) return [...this.#caches.keys()];
    const turn = new Promise<false>((resolve) => setImmediate(resolve, false));
    const results = await Promise.all(
      [...this.#caches].map(async ([def, cacher]) => ((await Promise.race([this.#wait(cacher), turn])) ? undefined : def)),
    );
    return results.filter((d): d is ResourceDefinition => d !== undefined);
  }

  #wait(cacher: Cacher): Promise<boolean> {
    let wait = this.#waits.get(cacher);
    if (wait === undefined) {
      wait = cacher.ready().then(() => {
        this.#waits.delete(cacher);
        return true;
      });
      this.#waits.set(cacher, wait);
    }
    return wait;
  }

  /** Ends every watcher cleanly and stops every reflector. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= Promise.all([...this.#caches.values()].map((c) => c.stop())).then(() => undefined);
    return this.#stopping;
  }
}
