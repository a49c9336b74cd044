/**
 * LIST and GET: whether the cache or the store answers, as kube-apiserver's cacher delegator
 * (k8s.io/apiserver/pkg/storage/cacher/delegator.go). The rules are two pure functions,
 * listPlan() and getPlan(), tested as tables; ReadPath carries the plan out.
 */
import { badRequest, ErrorCodes, isWatchCacheError, WatchCacheError } from '../errors.js';
import { parseJson } from '../encode/json-object.js';
import type { KubeObject } from '../kube-object.js';
import { matches, selectsEverything, type Predicate } from '../select/predicate.js';
import type { Storage } from '../storage/storage.js';
import { decodeContinue, encodeContinue, type ContinuePosition } from './continue-token.js';
import type { CachedObject, ObjectCodec } from './object.js';
import type { ReadyGate } from './ready.js';
import type { Snapshot } from './snapshot.js';
import { buildPredicate, parseMatch, parseResourceVersion, validateList, type ListOptions, type ParsedRV, type ResourceVersionMatch } from './request.js';
import type { WatchCache } from './watch-cache.js';

export interface GetOptions {
  /** "" or unset: read the store (consistent); "0": any cached; "N": cached, not older than N. */
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface ListResult<T = KubeObject> {
  /** The revision the list is consistent at. */
  resourceVersion: string;
  items: T[];
  /** Pass back as `continue` for the next page. */
  continue?: string;
  /** Items after this page, when known (unfiltered lists). */
  remainingItemCount?: number;
}

// ---- the rules ---------------------------------------------------------------------------------

export interface ListRequest {
  rv: ParsedRV;
  match: ResourceVersionMatch | undefined;
  /** The effective page size (0: all). */
  limit: number;
  /** The predicate selects everything. */
  everything: boolean;
  token: ContinuePosition | undefined;
}

export interface ReadState {
  ready: 'pending' | 'ready' | 'stopped';
  cacheRevision: number;
  /** Whether the store's progress notifications prove freshness in time (asked only when it matters). */
  progressTrusted: () => boolean;
}

export type ListPlan =
  /** Not ready, and the store may not answer instead: the request fails (429 or stopped). */
  | { source: 'unavailable' }
  /** The cache, now (from `start`, a key relative to the prefix). */
  | { source: 'cache'; start?: string }
  /**
   * The store: at `revision` (latest when unset) from `start`. `continuing`: a later page, whose
   * compaction is "continue too old". `fallback`: a consistent read the cache could not prove fresh.
   */
  | { source: 'store'; revision?: number; start?: string; continuing?: boolean; fallback?: boolean }
  /** Exactly `revision`: once the cache has caught up, the cache if it is still exactly there, else the store. */
  | { source: 'exact'; revision: number }
  /** As fresh as the store now: the cache once its progress proves it (3 s at most), else the store. */
  | { source: 'consistent' }
  /** Not older than `revision`: the cache once it has caught up, or the store when it must answer. */
  | { source: 'notOlderThan'; revision: number };

export function listPlan(request: ListRequest, state: ReadState): ListPlan {
  const { rv, match, limit, everything, token } = request;
  if (state.ready !== 'ready') {
    // An unfiltered, limited LIST has a bounded cost on the store, so it may go there; anything
    // else waits for the cache (kube-apiserver's shouldDelegateListOnNotReadyCache).
    if (everything && limit > 0 && state.ready === 'pending') {
      const revision = token?.revision ?? (rv || undefined);
      return { source: 'store', ...(revision === undefined ? {} : { revision }), ...(token === undefined ? {} : { start: token.start }) };
    }
    return { source: 'unavailable' };
  }
  if (token !== undefined) {
    // Later pages are exact reads at the token's revision: the cache serves them while it is
    // still at that revision, the store otherwise.
    if (token.revision === state.cacheRevision) return { source: 'cache', start: token.start };
    return { source: 'store', revision: token.revision, start: token.start, continuing: true };
  }
  // Exact reads (and legacy limited reads at an RV) see the state at exactly that revision.
  if (match === 'Exact' || (match === undefined && rv !== undefined && rv !== 0 && limit > 0)) return { source: 'exact', revision: rv! };
  if (rv === undefined) {
    // A consistent read (KEP-2340): served from the cache when its progress notifications can
    // prove it fresh in time; otherwise the store answers at once, as kube-apiserver does without
    // RequestWatchProgress.
    return state.progressTrusted() ? { source: 'consistent' } : { source: 'store', fallback: true };
  }
  return rv === 0 ? { source: 'cache' } : { source: 'notOlderThan', revision: rv };
}

export type GetPlan =
  | { source: 'unavailable' }
  | { source: 'store' }
  /** The cache, once it is at `atLeast` (0: any state). */
  | { source: 'cache'; atLeast: number };

export function getPlan(rv: ParsedRV, state: Pick<ReadState, 'ready'>): GetPlan {
  if (state.ready === 'stopped') return { source: 'unavailable' };
  // A consistent GET reads the store, as kube-apiserver; so does any GET while the cache is not ready.
  if (rv === undefined || state.ready !== 'ready') return { source: 'store' };
  return { source: 'cache', atLeast: rv };
}

// ---- carrying it out ---------------------------------------------------------------------------

export interface ReadPathOptions {
  storage: Storage;
  /** The resource's key prefix, ending in `/`. */
  prefix: string;
  cache: WatchCache;
  ready: ReadyGate;
  codec: ObjectCodec;
}

export class ReadPath {
  readonly #storage: Storage;
  readonly #prefix: string;
  readonly #cache: WatchCache;
  readonly #ready: ReadyGate;
  readonly #codec: ObjectCodec;
  /** Consistent LISTs the store answered (see CacherStats.consistentReadFallbacks). */
  consistentReadFallbacks = 0;

  constructor(options: ReadPathOptions) {
    this.#storage = options.storage;
    this.#prefix = options.prefix;
    this.#cache = options.cache;
    this.#ready = options.ready;
    this.#codec = options.codec;
  }

  async list(options: ListOptions): Promise<ListResult<Uint8Array>> {
    const rv = parseResourceVersion(options.resourceVersion);
    const match = parseMatch(options.resourceVersionMatch);
    validateList(options, rv, match);
    const { predicate } = buildPredicate(options, this.#codec.attributes.fields, this.#codec.trigger);
    const everything = selectsEverything(predicate);
    // kube-apiserver ignores the limit of an RV="0" list (computeListLimit).
    const limit = rv === 0 && match === undefined ? 0 : (options.limit ?? 0);
    const token = options.continue === undefined || options.continue === '' ? undefined : decodeContinue(options.continue);
    const plan = listPlan({ rv, match, limit, everything, token }, this.#state());
    const page = { predicate, everything, limit };
    switch (plan.source) {
      case 'unavailable':
        throw this.#ready.unavailable();
      case 'cache':
        return this.#listFromCache(page, plan.start);
      case 'store':
        if (plan.fallback === true) this.consistentReadFallbacks++;
        return this.#listFromStorage(page, plan.revision, plan.start, plan.continuing === true);
      case 'exact':
        await this.#catchUp(plan.revision, options.signal);
        if (plan.revision === this.#cache.revision) return this.#listFromCache(page);
        return this.#listFromStorage(page, plan.revision, undefined);
      case 'consistent':
        try {
          await this.#cache.waitUntilFresh(await this.#storage.currentRevision(), options.signal);
        } catch (err) {
          // Should a trusted proof still not come within 3 s, the store answers.
          if (!isWatchCacheError(err) || err.code !== ErrorCodes.TOO_LARGE_RESOURCE_VERSION) throw err;
          this.consistentReadFallbacks++;
          return this.#listFromStorage(page, undefined, undefined);
        }
        return this.#listFromCache(page);
      case 'notOlderThan':
        if ((await this.#catchUp(plan.revision, options.signal)) === 'store') return this.#listFromStorage(page, undefined, undefined);
        return this.#listFromCache(page);
    }
  }

  async get(key: string, options: GetOptions): Promise<Uint8Array> {
    if (typeof key !== 'string' || !key.startsWith(this.#prefix) || key.length === this.#prefix.length) {
      throw badRequest(`key ${JSON.stringify(key)} is not an object key under ${this.#prefix}`);
    }
    const plan = getPlan(parseResourceVersion(options.resourceVersion), this.#state());
    switch (plan.source) {
      case 'unavailable':
        throw this.#ready.unavailable();
      case 'store':
        return this.#getFromStorage(key);
      case 'cache': {
        if (plan.atLeast !== 0 && (await this.#catchUp(plan.atLeast, options.signal)) === 'store') return this.#getFromStorage(key);
        const object = this.#cache.get(key);
        if (object === undefined) throw keyNotFound(key);
        return object.bytes;
      }
    }
  }

  /**
   * Visit the cached objects a predicate can match, in key order, from `start` (relative to the
   * prefix) on; a namespaced request reads only its namespace's range.
   */
  scan(predicate: Predicate, start: string | undefined, visit: (object: CachedObject) => boolean | void): void {
    const range = this.#range(predicate);
    const from = start === undefined || this.#prefix + start < range ? range : this.#prefix + start;
    this.#cache.scan(from, range, visit);
  }

  /** The objects a predicate selects, as of now, to be read a chunk at a time (initial events). */
  snapshot(predicate: Predicate): Snapshot {
    return this.#cache.snapshot(this.#range(predicate), selectsEverything(predicate) ? undefined : (object) => matches(predicate, object));
  }

  /** Keys are PREFIX/NAMESPACE/NAME: the key prefix of the objects a predicate can match. */
  #range(predicate: Predicate): string {
    const namespace = predicate.namespace;
    return namespace === undefined || namespace === '' ? this.#prefix : `${this.#prefix}${namespace}/`;
  }

  #state(): ReadState {
    return { ready: this.#ready.state, cacheRevision: this.#cache.revision, progressTrusted: () => this.#storage.progressTrusted() };
  }

  /**
   * Before a read at `rv` the cache has not reached: 'cache' once the cache has caught up, or
   * 'store' when the store must answer. With trusted progress the cache catches up within a
   * round trip, so it waits. Without, it waits only when the store itself has not reached `rv`.
   * A revision the store does not reach within the freshness timeout (3 s) is refused with
   * "Too large resource version" (504), as kube-apiserver: never served as if it were reached.
   */
  async #catchUp(rv: number, signal: AbortSignal | undefined): Promise<'cache' | 'store'> {
    if (rv <= this.#cache.revision) return 'cache';
    if (!this.#storage.progressTrusted() && rv <= (await this.#storage.currentRevision())) return 'store';
    await this.#cache.waitUntilFresh(rv, signal);
    return 'cache';
  }

  #listFromCache(page: Page, start?: string): ListResult<Uint8Array> {
    const revision = this.#cache.revision;
    const items: Uint8Array[] = [];
    let last: CachedObject | undefined;
    let remaining = 0;
    this.scan(page.predicate, start, (object) => {
      if (!matches(page.predicate, object)) return true;
      if (page.limit > 0 && items.length === page.limit) {
        // An unfiltered list also reports how many items remain, so it reads on and counts.
        remaining++;
        return page.everything;
      }
      items.push(object.bytes);
      last = object;
      return true;
    });
    return this.#result(revision, items, remaining > 0 ? last : undefined, page.everything ? remaining : undefined);
  }

  async #listFromStorage(page: Page, revision: number | undefined, start: string | undefined, continuing = false): Promise<ListResult<Uint8Array>> {
    const { predicate, everything, limit } = page;
    const items: Uint8Array[] = [];
    let last: CachedObject | undefined;
    let pinned = revision;
    let continueKey = start === undefined ? undefined : this.#prefix + start;
    let more = false;
    try {
      for (;;) {
        const page = await this.#storage.list(this.#prefix, {
          ...(pinned === undefined ? {} : { revision: pinned }),
          ...(continueKey === undefined ? {} : { continueKey }),
          limit: limit > 0 ? Math.max(limit - items.length, everything ? 0 : 500) : 0,
        });
        pinned = page.revision;
        for (const kv of page.items) {
          let object: CachedObject;
          try {
            object = this.#codec.decode(kv.key, kv.value, kv.modRevision);
          } catch {
            continue;
          }
          if (!matches(predicate, object)) continue;
          if (limit > 0 && items.length === limit) {
            more = true;
            break;
          }
          items.push(object.bytes);
          last = object;
        }
        if (more || !page.more) break;
        continueKey = page.continueKey;
        if (limit > 0 && items.length === limit) {
          more = true;
          break;
        }
      }
    } catch (err) {
      if (isWatchCacheError(err) && err.code === ErrorCodes.COMPACTED) {
        throw new WatchCacheError(
          ErrorCodes.EXPIRED,
          continuing
            ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
            : `too old resource version: ${revision} (${err.details.compactRevision ?? 0})`,
        );
      }
      throw err;
    }
    return this.#result(pinned!, items, more ? last : undefined, undefined);
  }

  /** A page at `revision`; `continueAfter`: the last item, when more follow. */
  #result(revision: number, items: Uint8Array[], continueAfter: CachedObject | undefined, remaining: number | undefined): ListResult<Uint8Array> {
    const result: ListResult<Uint8Array> = { resourceVersion: String(revision), items };
    if (continueAfter !== undefined) {
      result.continue = encodeContinue({ revision, start: continueAfter.key.slice(this.#prefix.length) + '\0' });
      if (remaining !== undefined) result.remainingItemCount = remaining;
    }
    return result;
  }

  async #getFromStorage(key: string): Promise<Uint8Array> {
    const { item } = await this.#storage.get(key);
    if (item === null) throw keyNotFound(key);
    return this.#codec.decode(key, item.value, item.modRevision).bytes;
  }
}

interface Page {
  predicate: Predicate;
  everything: boolean;
  limit: number;
}

function keyNotFound(key: string): WatchCacheError {
  return new WatchCacheError(ErrorCodes.NOT_FOUND, `${key} not found`);
}

/** JSON bytes of an object, parsed (LIST and GET of the in-process API). */
export function decodeKubeObject(bytes: Uint8Array): KubeObject {
  return parseJson(bytes) as KubeObject;
}
