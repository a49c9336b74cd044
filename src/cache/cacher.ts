/**
 * The Cacher: one resource's watch cache, as kube-apiserver's Cacher. It owns the reflector
 * (store → cache), the watch cache (state, revision, ring), the ready gate and the dispatchers
 * (ring → watchers), and serves WATCH, LIST and GET with Kubernetes resourceVersion semantics.
 */
import { availableParallelism } from 'node:os';
import { badRequest, ErrorCodes, fromWire, isWatchCacheError, positiveOption, WatchCacheError, type WireError } from '../errors.js';
import { statusFromError, watchStatusFromError } from '../status.js';
import type { Storage } from '../storage/storage.js';
import { EncodePool } from '../encode/encode-pool.js';
import { FRAME_ENCODINGS, encodedBookmark, type FrameEncoding } from '../encode/frames.js';
import { matches, selectsEverything, type Predicate } from '../select/predicate.js';
import { PARTITIONS, partitionOf } from '../dispatch/partitions.js';
import { inlinePlacement, type Placement, type PlacementFactory } from '../dispatch/placement.js';
import { WorkerPlacement } from '../dispatch/worker-placement.js';
import type { DispatcherOutput, DispatcherStatus, DispatchLimits } from '../dispatch/protocol.js';
import { triggerHash } from '../ring/trigger-hash.js';
import { FrameStream, type FrameSink, type FrameWatch } from '../delivery/frame-stream.js';
import type { Subscriber, SubscriberHooks } from '../delivery/subscriber.js';
import { WatchIterator, type Watch } from '../delivery/watch-iterator.js';
import type { BackoffOptions } from './backoff.js';
import { realClock, type Clock, type Timer } from './clock.js';
import { decodeContinue, encodeContinue } from './continue-token.js';
import type { KubeObject } from '../kube-object.js';
import { ObjectCodec, type CachedObject, type ResourceSchema } from './object.js';
import { ProgressRequester } from './progress-requester.js';
import { ReadyGate } from './ready.js';
import { Reflector, type ReflectorStats } from './reflector.js';
import {
  buildPredicate,
  parseMatch,
  parseResourceVersion,
  validateList,
  validateWatch,
  type ListOptions,
  type ReadOptions,
  type WatchOptions,
} from './request.js';
import { WatchCache, type WatchCacheStats } from './watch-cache.js';

export const DEFAULT_LIMITS: DispatchLimits = {
  bufferEvents: 1000,
  bufferBytes: 4 * 1024 * 1024,
  stallBudgetMs: 60_000,
};

/** kube-apiserver's refusal of a watch list when the store lacks RequestWatchProgress (Cacher.Watch). */
const WATCH_LIST_UNSUPPORTED =
  'a watch stream was requested by the client but the required storage feature RequestWatchProgress is disabled';

/** Initial events go out in chunks of this many objects, yielding to the event loop in between. */
const INITIAL_CHUNK = 1000;

/** The dispatch tick that drives bookmarks and stall budgets: every 1 to 1.25 s (1 s + up to 25 % jitter). */
const TICK_MS = 1000;
const TICK_JITTER = 0.25;

export interface CacherOptions extends ResourceSchema {
  storage: Storage;
  /** The key prefix of the resource, e.g. `/registry/pods/`. A trailing `/` is added if missing. */
  prefix: string;
  /**
   * Worker threads for dispatch; 0 runs the same dispatch code inline on the main thread. Default:
   * one per core beyond the first, at most 4 (so 1 on a 2-core machine, 0 on a single core).
   */
  workers?: number;
  /** Advanced: where dispatchers run, overriding `workers` (tests use it to reach the workers). */
  placement?: PlacementFactory;
  /** Time source for every time rule; inject a ManualClock in tests. */
  clock?: Clock;
  /** Bytes of the event window (ring), a power of two; default 64 MiB. */
  windowBytes?: number;
  /** Frames a watcher may hold unread before it stalls on its own cursor; default 1000. */
  bufferEvents?: number;
  /** Bytes a watcher may hold unread before it stalls; default 4 MiB. */
  bufferBytes?: number;
  /** How long a watcher may stay stalled (reading nothing) before it is closed with 410; default 60 s. */
  stallBudgetMs?: number;
  /** Page size of the reflector's lists; default 10,000. */
  pageSize?: number;
  backoff?: BackoffOptions;
  /** Told of every failed list-and-watch of the reflector. */
  onError?: (err: unknown) => void;
  /**
   * Told, once per delivery batch, the seconds from the cache appending the batch's newest event
   * to the batch reaching the main thread's subscribers (for a latency histogram).
   */
  onDeliveryLatency?: (seconds: number) => void;
}

export interface FrameWatchOptions extends WatchOptions {
  /** The frame encoding: Kubernetes watch JSON lines (default) or msgpack maps. */
  encoding?: FrameEncoding;
}

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

export interface CacherStats {
  watchers: number;
  /** Watchers the cacher closed with an error, by reason ('lapped', 'stalled'). */
  terminated: Record<string, number>;
  objects: number;
  revision: number;
  /**
   * Consistent LISTs the store answered: because the store's progress notifications cannot be
   * trusted (an etcd older than 3.4.31 / 3.5.13 without a configured progress-notify interval), or
   * because the cache could not become fresh in 3 s.
   */
  consistentReadFallbacks: number;
  /** Seconds of history the event window holds. */
  windowSeconds: number;
  /** Bytes of the ring in use. */
  windowBytesInUse: number;
  /** Capacity of the ring in bytes. */
  windowBytes: number;
  /** Per dispatcher, as of its last tick: watchers, those behind and stalled, and its lag in revisions. */
  dispatchers: Array<{ watchers: number; behind: number; stalled: number; lagRevisions: number }>;
  /** Watchers per logical partition (by trigger value; those without one are spread). */
  partitions: number[];
  /** Frames handed to watchers (one per event per watcher), and the batches they came in (one per dispatch turn). */
  framesDelivered: number;
  deliveryBatches: number;
  cache: WatchCacheStats;
  reflector: ReflectorStats;
}

export interface Cacher {
  /** Resolves once the first list has filled the cache (immediately if it has). */
  ready(): Promise<void>;
  watch(options?: WatchOptions): Promise<Watch>;
  /**
   * A watch whose frames (Kubernetes watch JSON lines, shared between watchers) go to `sink`;
   * call `ack()` on the result once the consumer has taken them. Errors before the watch starts
   * reject; later ones arrive as a final ERROR frame.
   */
  watchFrames(options: FrameWatchOptions, sink: FrameSink): Promise<FrameWatch>;
  list(options?: ListOptions): Promise<ListResult>;
  /** LIST with the items as JSON bytes, as the HTTP front writes them. */
  listEncoded(options?: ListOptions): Promise<ListResult<Uint8Array>>;
  /** The object stored at `key` (a full storage key under the prefix). */
  get(key: string, options?: GetOptions): Promise<KubeObject>;
  getEncoded(key: string, options?: GetOptions): Promise<Uint8Array>;
  /** Ends every watcher cleanly and stops the reflector. Idempotent. */
  stop(): Promise<void>;
  readonly revision: number;
  /** The ready gate's state, synchronously: 'pending' (initializing or relisting), 'ready', 'stopped'. */
  readonly state: 'pending' | 'ready' | 'stopped';
  stats(): CacherStats;
}

export function createCacher(options: CacherOptions): Cacher {
  return new CacherImpl(options);
}

class CacherImpl implements Cacher {
  readonly #storage: Storage;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #codec: ObjectCodec;
  readonly #schema: ResourceSchema;
  readonly #ready: ReadyGate;
  readonly #progress: ProgressRequester;
  readonly #cache: WatchCache;
  readonly #reflector: Reflector;
  readonly #placement: Placement;
  readonly #streams = new Map<number, Subscriber>();
  readonly #encoder = new EncodePool();
  /** The logical partition of each registered watcher (its dispatcher is partition % size). */
  readonly #partitionOf = new Map<number, number>();
  readonly #terminated: Record<string, number> = {};
  #consistentReadFallbacks = 0;
  /** A watch took its snapshot in this turn. */
  #snapshotTaken = false;
  /** Acks gathered this turn, per dispatcher: id → [events, bytes] (the latest totals win). */
  #acks = new Map<number, Map<number, [number, number]>>();
  #acksScheduled = false;
  #framesDelivered = 0;
  #status: DispatcherStatus[] = [];
  readonly #onDeliveryLatency: ((seconds: number) => void) | undefined;
  #deliveryBatches = 0;
  #nextId = 0;
  #ticker: Timer | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: CacherOptions) {
    if (typeof options.prefix !== 'string' || !options.prefix.startsWith('/') || options.prefix.length < 2) {
      throw new WatchCacheError(ErrorCodes.INVALID, `prefix must start with "/" and name a resource, got ${JSON.stringify(options.prefix)}`);
    }
    const workers = options.workers ?? defaultWorkers();
    if (!Number.isSafeInteger(workers) || workers < 0 || workers > 64) {
      throw new WatchCacheError(ErrorCodes.INVALID, `workers must be an integer from 0 to 64, got ${workers}`);
    }
    this.#storage = options.storage;
    this.#onDeliveryLatency = options.onDeliveryLatency;
    this.#prefix = options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.#clock = options.clock ?? realClock;
    this.#schema = options;
    this.#codec = new ObjectCodec(options);
    this.#ready = new ReadyGate(this.#clock);
    this.#progress = new ProgressRequester(this.#storage, this.#clock);
    const limits: DispatchLimits = {
      bufferEvents: positiveOption('bufferEvents', options.bufferEvents, DEFAULT_LIMITS.bufferEvents, { unbounded: true }),
      bufferBytes: positiveOption('bufferBytes', options.bufferBytes, DEFAULT_LIMITS.bufferBytes, { unbounded: true }),
      stallBudgetMs: positiveOption('stallBudgetMs', options.stallBudgetMs, DEFAULT_LIMITS.stallBudgetMs, { unbounded: true }),
    };
    this.#cache = new WatchCache({
      codec: this.#codec,
      clock: this.#clock,
      progress: this.#progress,
      ...(options.windowBytes === undefined ? {} : { windowBytes: options.windowBytes }),
      onPublish: () => this.#placement.broadcast({ type: 'publish' }),
    });
    const config = {
      ring: this.#cache.ring.buffers,
      selectableFields: this.#codec.attributes.fields,
      limits,
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      ...(options.apiVersion === undefined ? {} : { apiVersion: options.apiVersion }),
    };
    const onOutput = (message: DispatcherOutput, index: number): void => this.#onDispatcherOutput(message, index);
    const onCrash = (index: number, error: WireError): void => this.#onDispatcherCrash(index, error);
    this.#placement =
      options.placement?.(config, onOutput, onCrash) ??
      (workers === 0 ? inlinePlacement(config, onOutput) : new WorkerPlacement(workers, config, onOutput, onCrash));
    this.#reflector = new Reflector({
      storage: this.#storage,
      prefix: this.#prefix,
      cache: this.#cache,
      ready: this.#ready,
      clock: this.#clock,
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
    this.#reflector.start();
    this.#scheduleTick();
  }

  get revision(): number {
    return this.#cache.revision;
  }

  get state(): 'pending' | 'ready' | 'stopped' {
    return this.#ready.state;
  }

  ready(): Promise<void> {
    // Ready to serve means the dispatchers are up as well, so first watches are not slowed by
    // thread start-up.
    return Promise.all([this.#ready.wait(), this.#placement.ready()]).then(() => undefined);
  }

  stats(): CacherStats {
    return {
      watchers: this.#streams.size,
      terminated: { ...this.#terminated },
      objects: this.#cache.size,
      revision: this.#cache.revision,
      consistentReadFallbacks: this.#consistentReadFallbacks,
      windowSeconds: this.#cache.windowSeconds(),
      windowBytesInUse: this.#cache.ring.bytesInUse,
      windowBytes: this.#cache.ring.capacity,
      framesDelivered: this.#framesDelivered,
      dispatchers: this.#status.map((st) => ({
        watchers: st.watchers,
        behind: st.behind,
        stalled: st.stalled,
        lagRevisions: Math.max(0, this.#cache.revision - st.liveRV),
      })),
      partitions: this.#partitionCounts(),
      deliveryBatches: this.#deliveryBatches,
      cache: { ...this.#cache.stats },
      reflector: { ...this.#reflector.stats },
    };
  }

  // ---- WATCH ---------------------------------------------------------------------------------

  watch(options: WatchOptions = {}): Promise<Watch> {
    return this.#watch(options, 'json', (id, hooks) => new WatchIterator(id, hooks));
  }

  watchFrames(options: FrameWatchOptions, sink: FrameSink): Promise<FrameWatch> {
    const encoding = options.encoding ?? 'json';
    if (!FRAME_ENCODINGS.includes(encoding)) throw badRequest(`unsupported watch encoding ${JSON.stringify(encoding)}`);
    return this.#watch(options, encoding, (id, hooks) => new FrameStream(id, hooks, sink, encoding));
  }

  /** `S` is also what the consumer holds: its `stop()` is what the consumer's abort signal calls. */
  async #watch<S extends Subscriber & { stop(): void }>(
    options: WatchOptions,
    encoding: FrameEncoding,
    subscribe: (id: number, hooks: SubscriberHooks) => S,
  ): Promise<S> {
    const generation = this.#ready.check();
    const rv = parseResourceVersion(options.resourceVersion);
    const match = parseMatch(options.resourceVersionMatch);
    validateWatch(options, match);
    const { predicate, triggerValue } = buildPredicate(options, this.#codec.attributes.fields, this.#codec.trigger);
    const bookmarks = options.allowWatchBookmarks === true;
    const sendInitialEvents = options.sendInitialEvents;

    // The table of kube-apiserver's Cacher.Watch (k8s.io/apiserver/pkg/storage/cacher/cacher.go:
    // Cacher.Watch, getWatchCacheResourceVersion, waitUntilWatchCacheFreshAndForceAllEvents).
    let initialEvents: boolean;
    let waitFor: number | undefined;
    let floor: number | undefined;
    if (rv === undefined) {
      if (sendInitialEvents === undefined) {
        initialEvents = true;
      } else {
        const required = await this.#storage.currentRevision();
        initialEvents = sendInitialEvents;
        if (sendInitialEvents) waitFor = required;
        else floor = required;
      }
    } else if (rv === 0) {
      initialEvents = sendInitialEvents !== false;
      if (!initialEvents) floor = this.#cache.revision;
    } else if (sendInitialEvents === true) {
      initialEvents = true;
      waitFor = rv;
    } else {
      initialEvents = false;
      floor = rv;
    }

    // Without trusted progress the cache cannot prove in time that it is as fresh as a watch list
    // needs: kube-apiserver refuses it at once, and client-go falls back to LIST.
    const refuseInitial =
      sendInitialEvents === true && (bookmarks || (waitFor ?? 0) > this.#cache.revision) && !this.#storage.progressTrusted();
    // A watch from a revision the store has not reached (e.g. one from before the embedded store
    // restarted and counted from 1 again) would get nothing until the counter catches up: it is
    // served only if the store reaches it within the freshness timeout, else it ends with "Too
    // large resource version", so the client relists instead of missing events in silence.
    const future =
      floor !== undefined && floor > this.#cache.revision && floor > (await this.#storage.currentRevision()) ? floor : undefined;

    const id = ++this.#nextId;
    const partition = partitionOf(triggerValue, id, predicate.shard);
    const dispatcher = partition % this.#placement.size;
    const stream = subscribe(id, {
      ack: (events, bytes) => this.#ack(dispatcher, id, events, bytes),
      cancel: () => {
        this.#partitionOf.delete(id);
        if (this.#streams.delete(id)) this.#placement.post(dispatcher, { type: 'cancel', id });
      },
    });

    if (refuseInitial) {
      stream.failed(statusFromError(new WatchCacheError(ErrorCodes.INTERNAL, WATCH_LIST_UNSUPPORTED)));
      return stream;
    }
    if (waitFor !== undefined) {
      try {
        await this.#cache.waitUntilFresh(waitFor, options.signal);
      } catch (err) {
        // Past validation, errors are in-band ERROR events (kube-apiserver's errWatcher).
        stream.failed(statusFromError(err));
        return stream;
      }
    }
    // A snapshot is taken synchronously (one consistent state); several watches asking for one in
    // the same turn take turns, so the event loop never runs more than one snapshot in a row.
    if (initialEvents) await this.#snapshotTurn();
    if (this.#ready.state !== 'ready' || this.#ready.generation !== generation) {
      // The cache relisted while this watch waited: end at once (cleanly), the client re-watches.
      stream.done();
      return stream;
    }

    // From here to the registration everything is synchronous, so the snapshot, its revision
    // and the ring position it continues from belong together.
    const cache = this.#cache;
    let start: number;
    let snapshot: CachedObject[] | undefined;
    let snapshotRevision = 0;
    if (initialEvents) {
      snapshotRevision = cache.revision;
      snapshot = [];
      const objects = snapshot;
      const everything = selectsEverything(predicate);
      this.#scan(predicate, undefined, (object) => {
        if (everything || matches(predicate, object)) objects.push(object);
      });
      floor = snapshotRevision;
      start = cache.ring.writePosition;
    } else {
      try {
        start = cache.startPosition(floor!);
      } catch (err) {
        stream.failed(statusFromError(err));
        return stream;
      }
    }

    const now = this.#clock.now();
    const timeout = options.timeoutSeconds;
    const deadline = timeout === undefined || timeout === 0 ? undefined : now + timeout * 1000;
    this.#streams.set(id, stream);
    this.#partitionOf.set(id, partition);
    this.#placement.post(dispatcher, {
      type: 'register',
      watcher: {
        id,
        predicate,
        triggerHash: triggerValue === undefined ? 0 : triggerHash(triggerValue),
        start,
        epoch: cache.ring.epoch,
        floor: floor!,
        bookmarks,
        encoding,
        ...(deadline === undefined ? {} : { deadline }),
        now,
      },
    });
    if (snapshot !== undefined) {
      // The watcher is registered first, so the ring cannot move past its start while a large
      // snapshot goes out; its live frames wait behind the initial events.
      stream.beginInitial();
      const endBookmark = bookmarks && sendInitialEvents === true ? snapshotRevision : undefined;
      if (encoding === 'json' && snapshot.length <= INITIAL_CHUNK) {
        for (const object of snapshot) stream.pushInitial(object.addedFrame);
        if (endBookmark !== undefined) stream.pushInitial(encodedBookmark(encoding, this.#schema, endBookmark, true));
        stream.endInitial();
      } else {
        void this.#sendInitial(stream, snapshot, encoding, endBookmark);
      }
    }
    if (future !== undefined) {
      // Registered at once (a watch from the near future is allowed), so events at the RV it
      // waits for are not missed; its floor drops everything up to it meanwhile.
      this.#cache.waitUntilFresh(future, options.signal).catch((err: unknown) => stream.failed(watchStatusFromError(err)));
    }
    if (deadline !== undefined) {
      const timer = this.#clock.setTimer(deadline - now, () => this.#end(id));
      options.signal?.addEventListener('abort', () => timer.cancel(), { once: true });
    }
    if (options.signal !== undefined) {
      if (options.signal.aborted) stream.stop();
      else options.signal.addEventListener('abort', () => stream.stop(), { once: true });
    }
    return stream;
  }

  /** Resolves in a turn in which no other watch has taken a snapshot yet. */
  async #snapshotTurn(): Promise<void> {
    while (this.#snapshotTaken) await new Promise<void>((resolve) => setImmediate(resolve));
    this.#snapshotTaken = true;
    setImmediate(() => (this.#snapshotTaken = false));
  }

  /**
   * Initial events of a large snapshot (or any msgpack one), in chunks: encoding runs on the
   * encode pool for msgpack, and the main thread yields between chunks and waits for a slow
   * consumer, so neither the event loop nor memory takes the whole snapshot at once.
   */
  async #sendInitial(stream: Subscriber, snapshot: CachedObject[], encoding: FrameEncoding, endBookmark: number | undefined): Promise<void> {
    try {
      for (let i = 0; i < snapshot.length; i += INITIAL_CHUNK) {
        if (stream.ended) return;
        const chunk = snapshot.slice(i, i + INITIAL_CHUNK);
        const frames =
          encoding === 'json'
            ? chunk.map((object) => object.addedFrame)
            : await this.#encoder.msgpackSnapshot(chunk.map((object) => object.bytes));
        for (const frame of frames) stream.pushInitial(frame);
        if (i + INITIAL_CHUNK < snapshot.length) {
          await stream.whenWritable();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      if (endBookmark !== undefined) stream.pushInitial(encodedBookmark(encoding, this.#schema, endBookmark, true));
      stream.endInitial();
    } catch (err) {
      stream.failed(statusFromError(err));
    }
  }

  /** A watch reached its deadline: it ends after its queued events, like a server-side timeout. */
  #end(id: number): void {
    this.#streams.get(id)?.done();
  }

  #onDispatcherOutput(message: DispatcherOutput, dispatcher: number): void {
    switch (message.type) {
      case 'deliver': {
        const { ids, frames } = message.batch;
        this.#framesDelivered += ids.length;
        this.#deliveryBatches++;
        if (this.#onDeliveryLatency !== undefined && message.batch.rv !== undefined && message.batch.rv > 0) {
          const appended = this.#cache.appendedAt(message.batch.rv);
          if (appended !== undefined) this.#onDeliveryLatency(Math.max(0, this.#clock.now() - appended) / 1000);
        }
        for (let i = 0; i < ids.length; i++) this.#streams.get(ids[i]!)?.push(frames[i]!);
        return;
      }
      case 'closed': {
        const stream = this.#streams.get(message.id);
        this.#streams.delete(message.id);
        this.#partitionOf.delete(message.id);
        const reason = message.error?.reason;
        if (reason !== undefined) this.#terminated[reason] = (this.#terminated[reason] ?? 0) + 1;
        if (message.error === undefined) stream?.done();
        else stream?.failed(statusFromError(fromWire(message.error)));
        return;
      }
      case 'status':
        this.#status[dispatcher] = message.status;
        return;
      case 'online':
      case 'stopped':
        return;
    }
  }

  #partitionCounts(): number[] {
    const counts = new Array<number>(PARTITIONS).fill(0);
    for (const partition of this.#partitionOf.values()) counts[partition]!++;
    return counts;
  }

  /**
   * Consumers' acks go out once per turn, one message per dispatcher: with thousands of watchers
   * on worker threads, one message per watcher per turn would cost more than the frames.
   */
  #ack(dispatcher: number, id: number, events: number, bytes: number): void {
    let acks = this.#acks.get(dispatcher);
    if (acks === undefined) this.#acks.set(dispatcher, (acks = new Map()));
    acks.set(id, [events, bytes]);
    if (this.#acksScheduled) return;
    this.#acksScheduled = true;
    setImmediate(() => {
      this.#acksScheduled = false;
      const all = this.#acks;
      this.#acks = new Map();
      for (const [index, acks] of all) {
        const ids: number[] = [];
        const events: number[] = [];
        const bytes: number[] = [];
        for (const [id, [e, b]] of acks) {
          ids.push(id);
          events.push(e);
          bytes.push(b);
        }
        this.#placement.post(index, { type: 'acks', ids, events, bytes });
      }
    });
  }

  /** A dispatcher died: its watchers end with an ERROR (500) so their clients watch again. */
  #onDispatcherCrash(index: number, error: WireError): void {
    for (const [id, partition] of this.#partitionOf) {
      if (partition % this.#placement.size !== index) continue;
      this.#terminated['dispatcherCrash'] = (this.#terminated['dispatcherCrash'] ?? 0) + 1;
      this.#partitionOf.delete(id);
      const stream = this.#streams.get(id);
      this.#streams.delete(id);
      stream?.failed(statusFromError(fromWire(error)));
    }
  }

  // ---- LIST ----------------------------------------------------------------------------------

  async list(options: ListOptions = {}): Promise<ListResult> {
    const result = await this.listEncoded(options);
    return { ...result, items: result.items.map(decodeJson) };
  }

  async listEncoded(options: ListOptions = {}): Promise<ListResult<Uint8Array>> {
    const rv = parseResourceVersion(options.resourceVersion);
    const match = parseMatch(options.resourceVersionMatch);
    validateList(options, rv, match);
    const { predicate } = buildPredicate(options, this.#codec.attributes.fields, this.#codec.trigger);
    const everything = selectsEverything(predicate);
    // kube-apiserver ignores the limit of an RV="0" list (computeListLimit).
    const limit = rv === 0 && match === undefined ? 0 : (options.limit ?? 0);
    const token = options.continue === undefined || options.continue === '' ? undefined : decodeContinue(options.continue);

    if (this.#ready.state !== 'ready') {
      // An unfiltered, limited LIST has a bounded cost on the store, so it may go there; anything
      // else waits for the cache (kube-apiserver's shouldDelegateListOnNotReadyCache).
      if (everything && limit > 0 && this.#ready.state === 'pending') {
        return this.#listFromStorage(predicate, everything, limit, token?.revision ?? (rv || undefined), token?.start);
      }
      this.#ready.check();
    }

    if (token !== undefined) {
      // Later pages are exact reads at the token's revision: the cache serves them while it is
      // still at that revision, the store otherwise.
      if (token.revision === this.#cache.revision) return this.#listFromCache(predicate, everything, limit, token.start);
      return this.#listFromStorage(predicate, everything, limit, token.revision, token.start, true);
    }
    if (match === 'Exact' || (match === undefined && rv !== undefined && rv !== 0 && limit > 0)) {
      // Exact reads (and legacy limited reads at an RV) see the state at exactly that revision.
      await this.#catchUp(rv!, options.signal);
      if (rv === this.#cache.revision) return this.#listFromCache(predicate, everything, limit);
      return this.#listFromStorage(predicate, everything, limit, rv!, undefined);
    }
    if (rv === undefined) {
      // A consistent read (KEP-2340): as fresh as the store is now, served from the cache when its
      // progress notifications can prove that in time; otherwise the store answers at once, as
      // kube-apiserver does without RequestWatchProgress. Should a trusted proof still not come
      // within 3 s, the store answers as well.
      if (!this.#storage.progressTrusted()) {
        this.#consistentReadFallbacks++;
        return this.#listFromStorage(predicate, everything, limit, undefined, undefined);
      }
      try {
        await this.#cache.waitUntilFresh(await this.#storage.currentRevision(), options.signal);
      } catch (err) {
        if (!isWatchCacheError(err) || err.code !== ErrorCodes.TOO_LARGE_RESOURCE_VERSION) throw err;
        this.#consistentReadFallbacks++;
        return this.#listFromStorage(predicate, everything, limit, undefined, undefined);
      }
    } else if (rv !== 0 && (await this.#catchUp(rv, options.signal)) === 'store') {
      return this.#listFromStorage(predicate, everything, limit, undefined, undefined);
    }
    return this.#listFromCache(predicate, everything, limit);
  }

  #listFromCache(predicate: Predicate, everything: boolean, limit: number, start?: string): ListResult<Uint8Array> {
    const revision = this.#cache.revision;
    const items: Uint8Array[] = [];
    let last: CachedObject | undefined;
    let more = false;
    let remaining = 0;
    this.#scan(predicate, start, (object) => {
      if (!matches(predicate, object)) return true;
      if (limit > 0 && items.length === limit) {
        more = true;
        // An unfiltered list also reports how many items remain, so it reads on and counts.
        remaining++;
        return everything;
      }
      items.push(object.bytes);
      last = object;
      return true;
    });
    const result: ListResult<Uint8Array> = { resourceVersion: String(revision), items };
    if (more && last !== undefined) {
      result.continue = encodeContinue({ revision, start: last.key.slice(this.#prefix.length) + '\0' });
      if (everything) result.remainingItemCount = remaining;
    }
    return result;
  }

  /**
   * Visit the cached objects a predicate can match, in key order, from `start` (relative to the
   * prefix) on. Keys are PREFIX/NAMESPACE/NAME, so a namespaced request reads only its
   * namespace's range.
   */
  #scan(predicate: Predicate, start: string | undefined, visit: (object: CachedObject) => boolean | void): void {
    const namespace = predicate.namespace;
    const range = namespace === undefined || namespace === '' ? this.#prefix : `${this.#prefix}${namespace}/`;
    const from = start === undefined || this.#prefix + start < range ? range : this.#prefix + start;
    this.#cache.scan(from, range, visit);
  }

  async #listFromStorage(
    predicate: Predicate,
    everything: boolean,
    limit: number,
    revision: number | undefined,
    start: string | undefined,
    continuing = false,
  ): Promise<ListResult<Uint8Array>> {
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
            object = this.#codec.cache(kv.key, this.#codec.parse(kv.key, kv.value), kv.modRevision);
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
    const result: ListResult<Uint8Array> = { resourceVersion: String(pinned), items };
    if (more && last !== undefined) {
      result.continue = encodeContinue({ revision: pinned!, start: last.key.slice(this.#prefix.length) + '\0' });
    }
    return result;
  }

  // ---- GET -----------------------------------------------------------------------------------

  async get(key: string, options: GetOptions = {}): Promise<KubeObject> {
    return decodeJson(await this.getEncoded(key, options));
  }

  async getEncoded(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    if (typeof key !== 'string' || !key.startsWith(this.#prefix) || key.length === this.#prefix.length) {
      throw badRequest(`key ${JSON.stringify(key)} is not an object key under ${this.#prefix}`);
    }
    const rv = parseResourceVersion(options.resourceVersion);
    if (rv === undefined || this.#ready.state !== 'ready') {
      // A consistent GET reads the store, as kube-apiserver; so does any GET while the cache is not ready.
      if (this.#ready.state === 'stopped') this.#ready.check();
      return this.#getFromStorage(key);
    }
    if (rv !== 0 && (await this.#catchUp(rv, options.signal)) === 'store') return this.#getFromStorage(key);
    const object = this.#cache.get(key);
    if (object === undefined) throw keyNotFound(key);
    return object.bytes;
  }

  async #getFromStorage(key: string): Promise<Uint8Array> {
    const { item } = await this.#storage.get(key);
    if (item === null) throw keyNotFound(key);
    return this.#codec.cache(key, this.#codec.parse(key, item.value), item.modRevision).bytes;
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

  // ---- life cycle ----------------------------------------------------------------------------

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#ready.stop();
    this.#ticker?.cancel();
    this.#progress.stop();
    await this.#reflector.stop();
    await this.#placement.stop();
    await this.#encoder.release();
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#partitionOf.clear();
    for (const stream of streams) stream.done();
  }

  #scheduleTick(): void {
    const jitter = 1 + TICK_JITTER * Math.random();
    this.#ticker = this.#clock.setTimer(TICK_MS * jitter, () => {
      if (this.#ready.state === 'stopped') return;
      this.#placement.broadcast({ type: 'tick', now: this.#clock.now() });
      this.#scheduleTick();
    });
  }
}

function defaultWorkers(): number {
  return Math.min(4, Math.max(0, availableParallelism() - 1));
}

function keyNotFound(key: string): WatchCacheError {
  return new WatchCacheError(ErrorCodes.NOT_FOUND, `${key} not found`);
}

function decodeJson(bytes: Uint8Array): KubeObject {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as KubeObject;
}

export type { ListOptions, ReadOptions, WatchOptions };
