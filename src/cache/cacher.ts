/**
 * The Cacher: one resource's watch cache, as kube-apiserver's Cacher. A façade over the parts:
 * the reflector (store → cache), the watch cache (state, revision, ring) and its ready gate, the
 * read path (LIST and GET: cache or store), the watch plan (how a WATCH starts), initial events,
 * and the router to the dispatchers (ring → watchers).
 * Its contract (options, statistics, the Cacher interface) is in cacher-api.ts.
 */
import { availableParallelism } from 'node:os';
import { ErrorCodes, invalidArgument, positiveOption, WatchCacheError } from '../errors.js';
import { statusFromError, watchStatusFromError } from '../status.js';
import type { Storage } from '../storage/storage.js';
import type { BookmarkShape } from '../encode/codec.js';
import { codecFor, watchFormat, type WatchFormat } from '../encode/codecs.js';
import type { PrinterSpec } from '../encode/table/views.js';
import { inlinePlacement } from '../dispatch/placement.js';
import { WorkerPlacement } from '../dispatch/worker-placement.js';
import type { DispatcherConfig, DispatchLimits, WatcherAcks, WatcherFraming } from '../dispatch/protocol.js';
import { triggerHash } from '../ring/trigger-hash.js';
import { FrameStream, type FrameSink, type FrameWatch } from '../delivery/frame-stream.js';
import type { Subscriber, SubscriberHooks } from '../delivery/subscriber.js';
import { WatchIterator, type Watch } from '../delivery/watch-iterator.js';
import type { KubeObject } from '../kube-object.js';
import { realClock, type Clock, type Timer } from '../clock.js';
import { INITIAL_CHUNK, InitialEvents } from './initial-events.js';
import { ObjectCodec } from './object.js';
import { ProgressRequester } from './progress-requester.js';
import { decodeKubeObject, ReadPath, type GetOptions, type ListResult } from './read-path.js';
import { ReadyGate } from './ready.js';
import type { Snapshot } from './snapshot.js';
import { Reflector } from './reflector.js';
import { buildPredicate, parseMatch, parseResourceVersion, validateWatch, type ListOptions, type ReadOptions, type WatchOptions } from './request.js';
import { WatchCache } from './watch-cache.js';
import { needsStoreRevision, watchPlan } from './watch-plan.js';
import { WatchRouter } from './watch-router.js';
import { DEFAULT_LIMITS, type Cacher, type CacherOptions, type CacherStats, type FrameWatchOptions } from './cacher-api.js';

/** The API group of an apiVersion (`apps/v1` → `apps`, `v1` → the core group ""). */
function groupOf(apiVersion: string | undefined): string {
  const slash = apiVersion?.indexOf('/') ?? -1;
  return slash < 0 ? '' : apiVersion!.slice(0, slash);
}

/** The dispatch tick that drives bookmarks and stall budgets: every 1 to 1.25 s (1 s + up to 25 % jitter). */
const TICK_MS = 1000;
const TICK_JITTER = 0.25;

export function createCacher(options: CacherOptions): Cacher {
  return new CacherImpl(options);
}

class CacherImpl implements Cacher {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #codec: ObjectCodec;
  /** What Table views of its watch events print. */
  readonly #printer: PrinterSpec;
  /** Kind and apiVersion of the resource. */
  readonly #shape: BookmarkShape;
  readonly #ready: ReadyGate;
  readonly #progress: ProgressRequester;
  readonly #cache: WatchCache;
  readonly #reflector: Reflector;
  readonly #router: WatchRouter;
  readonly #reads: ReadPath;
  readonly #initial: InitialEvents;
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
    const prefix = options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.#clock = options.clock ?? realClock;
    this.#codec = new ObjectCodec(options);
    this.#shape = { ...(options.kind === undefined ? {} : { kind: options.kind }), ...(options.apiVersion === undefined ? {} : { apiVersion: options.apiVersion }) };
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
      ...(options.windowSeconds === undefined ? {} : { windowSeconds: options.windowSeconds }),
      ...(options.windowMinBytes === undefined ? {} : { windowMinBytes: options.windowMinBytes }),
      ...(options.windowMaxBytes === undefined ? {} : { windowMaxBytes: options.windowMaxBytes }),
      onPublish: () => this.#router.broadcast({ type: 'publish' }),
      onSegments: (segments) => this.#router.broadcast({ type: 'segments', segments }),
    });
    this.#printer = options.printer ?? { group: groupOf(options.apiVersion), kind: options.kind ?? '' };
    const config: DispatcherConfig = {
      ring: this.#cache.ring.buffers,
      selectableFields: this.#codec.attributes.fields,
      limits,
      ...this.#shape,
      printer: this.#printer,
    };
    this.#router = new WatchRouter({
      placement: (onOutput, onCrash) =>
        options.placement?.(config, onOutput, onCrash) ??
        (workers === 0 ? inlinePlacement(config, onOutput) : new WorkerPlacement(workers, config, onOutput, onCrash)),
      clock: this.#clock,
      appendedAt: (revision) => this.#cache.appendedAt(revision),
      onDeliveryLatency: options.onDeliveryLatency,
    });
    this.#reads = new ReadPath({ storage: this.#storage, prefix, cache: this.#cache, ready: this.#ready, codec: this.#codec });
    this.#initial = new InitialEvents(this.#shape, this.#printer, positiveOption('initialEventsChunk', options.initialEventsChunk, INITIAL_CHUNK));
    this.#reflector = new Reflector({
      storage: this.#storage,
      prefix,
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
    return Promise.all([this.#ready.wait(), this.#router.ready()]).then(() => undefined);
  }

  stats(): CacherStats {
    const router = this.#router;
    return {
      watchers: router.watchers,
      terminated: { ...router.terminated },
      objects: this.#cache.size,
      revision: this.#cache.revision,
      consistentReadFallbacks: this.#reads.consistentReadFallbacks,
      windowSeconds: this.#cache.windowSeconds(),
      windowBytesInUse: this.#cache.ring.bytesInUse,
      windowBytes: this.#cache.ring.capacity,
      framesDelivered: router.framesDelivered,
      dispatchers: router.status.map((st) => ({
        watchers: st.watchers,
        behind: st.behind,
        stalled: st.stalled,
        lagRevisions: Math.max(0, this.#cache.revision - st.liveRV),
      })),
      partitions: router.partitionCounts(),
      deliveryBatches: router.deliveryBatches,
      cache: { ...this.#cache.stats },
      reflector: { ...this.#reflector.stats },
    };
  }

  // ---- WATCH ---------------------------------------------------------------------------------

  watch(options: WatchOptions = {}): Promise<Watch> {
    return this.#watch(options, 'json', (id, hooks) => new WatchIterator(id, hooks));
  }

  watchFrames(options: FrameWatchOptions, sink: FrameSink): Promise<FrameWatch> {
    const encoding = watchFormat(options.encoding ?? 'json', options.view);
    // 400 for an encoding this build does not speak; 406 for one that cannot encode this kind.
    const codec = codecFor(encoding, this.#printer);
    if (!codec.supports(this.#shape)) {
      throw new WatchCacheError(ErrorCodes.NOT_ACCEPTABLE, `the ${encoding} watch encoding cannot encode ${this.#shape.kind ?? 'this resource'}`);
    }
    if (options.framing === 'chunked' && sink.pushChunk === undefined) throw invalidArgument('a chunked frame watch needs a sink that takes chunks (pushChunk)');
    const delivery = { framing: options.framing ?? 'frames', acks: options.acks ?? 'explicit' } as const;
    return this.#watch(options, encoding, (id, hooks) => new FrameStream(id, hooks, sink, codec, delivery), delivery);
  }

  /** `S` is also what the consumer holds: its `stop()` is what the consumer's abort signal calls. */
  async #watch<S extends Subscriber & { stop(): void }>(
    options: WatchOptions,
    encoding: WatchFormat,
    subscribe: (id: number, hooks: SubscriberHooks) => S,
    delivery: { framing: WatcherFraming; acks: WatcherAcks } = { framing: 'frames', acks: 'explicit' },
  ): Promise<S> {
    const generation = this.#ready.check();
    const rv = parseResourceVersion(options.resourceVersion);
    validateWatch(options, parseMatch(options.resourceVersionMatch));
    const { predicate, triggerValue } = buildPredicate(options, this.#codec.attributes.fields, this.#codec.trigger);
    const request = { rv, sendInitialEvents: options.sendInitialEvents, bookmarks: options.allowWatchBookmarks === true };
    const storeRevision = needsStoreRevision(request, this.#cache.revision) ? await this.#storage.currentRevision() : undefined;
    const plan = watchPlan(request, {
      cacheRevision: this.#cache.revision,
      storeRevision,
      progressTrusted: () => this.#storage.progressTrusted(),
    });

    const route = this.#router.open(triggerValue, predicate.shard, subscribe);
    const stream = route.stream;
    // Past validation, errors are in-band ERROR events (kube-apiserver's errWatcher).
    if (plan.kind === 'refuse') {
      stream.failed(statusFromError(new WatchCacheError(ErrorCodes.INTERNAL, plan.message)));
      return stream;
    }
    if (plan.kind === 'snapshot') {
      if (plan.waitFor !== undefined) {
        try {
          await this.#cache.waitUntilFresh(plan.waitFor, options.signal);
        } catch (err) {
          stream.failed(statusFromError(err));
          return stream;
        }
      }
      await this.#initial.turn();
    }
    if (this.#ready.state !== 'ready' || this.#ready.generation !== generation) {
      // The cache relisted while this watch waited: end at once (cleanly), the client re-watches.
      stream.done();
      return stream;
    }

    // From here to the registration everything is synchronous, so the snapshot, its revision
    // and the ring position it continues from belong together.
    const cache = this.#cache;
    let start: number;
    let floor: number;
    let snapshot: Snapshot | undefined;
    if (plan.kind === 'snapshot') {
      // The keys now; their objects are read a chunk at a time as they go out, as of `floor`.
      snapshot = this.#reads.snapshot(predicate);
      floor = snapshot.revision;
      start = cache.ring.writePosition;
    } else {
      floor = plan.floor;
      try {
        start = cache.startPosition(floor);
      } catch (err) {
        stream.failed(statusFromError(err));
        return stream;
      }
    }

    const now = this.#clock.now();
    const timeout = options.timeoutSeconds;
    const deadline = timeout === undefined || timeout === 0 ? undefined : now + timeout * 1000;
    this.#router.register(route, {
      predicate,
      triggerHash: triggerValue === undefined ? 0 : triggerHash(triggerValue),
      start,
      epoch: cache.ring.epoch,
      floor,
      bookmarks: request.bookmarks,
      encoding,
      ...delivery,
      headed: snapshot !== undefined && this.#initial.headed(snapshot, encoding, plan.kind === 'snapshot' && plan.endBookmark ? floor : undefined),
      ...(deadline === undefined ? {} : { deadline }),
      now,
    });
    // Registered first, so the ring cannot move past its start while a large snapshot goes out;
    // its live frames (events after `floor`) wait behind the initial events.
    if (plan.kind === 'snapshot') this.#initial.send(stream, snapshot!, encoding, plan.endBookmark ? floor : undefined);
    if (plan.kind === 'stream' && plan.future) {
      // Registered at once (a watch from the near future is allowed), so events at the RV it
      // waits for are not missed; its floor drops everything up to it meanwhile.
      this.#cache.waitUntilFresh(floor, options.signal).catch((err: unknown) => stream.failed(watchStatusFromError(err)));
    }
    if (deadline !== undefined) {
      const timer = this.#clock.setTimer(deadline - now, () => this.#router.end(route.id));
      options.signal?.addEventListener('abort', () => timer.cancel(), { once: true });
    }
    if (options.signal !== undefined) {
      if (options.signal.aborted) stream.stop();
      else options.signal.addEventListener('abort', () => stream.stop(), { once: true });
    }
    return stream;
  }

  // ---- LIST and GET --------------------------------------------------------------------------

  async list(options: ListOptions = {}): Promise<ListResult> {
    const result = await this.#reads.list(options);
    return { ...result, items: result.items.map(decodeKubeObject) };
  }

  listEncoded(options: ListOptions = {}): Promise<ListResult<Uint8Array>> {
    return this.#reads.list(options);
  }

  async get(key: string, options: GetOptions = {}): Promise<KubeObject> {
    return decodeKubeObject(await this.#reads.get(key, options));
  }

  getEncoded(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    return this.#reads.get(key, options);
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
    this.#cache.stop();
    await this.#reflector.stop();
    await this.#router.stopDispatchers();
    await this.#initial.release();
    this.#router.endAll();
  }

  #scheduleTick(): void {
    const jitter = 1 + TICK_JITTER * Math.random();
    this.#ticker = this.#clock.setTimer(TICK_MS * jitter, () => {
      if (this.#ready.state === 'stopped') return;
      this.#router.broadcast({ type: 'tick', now: this.#clock.now() });
      this.#scheduleTick();
    });
  }
}

/**
 * What the benchmark shows fastest. On the 2-core reference machine, end to end over real sockets
 * (docs/benchmarks.md, "The hot path: after"), inline dispatch sustains the most deliveries in
 * both mixes: a dispatcher thread, the main thread and the clients share two cores, and the
 * thread's hand-off costs more than the dispatch it takes over. With more cores a dispatcher
 * thread has a core of its own, which is what it was built for.
 */
function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores <= 2 ? 0 : Math.min(4, cores - 1);
}

export { DEFAULT_LIMITS };
export type { Cacher, CacherOptions, CacherStats, FrameWatchOptions, GetOptions, ListOptions, ListResult, ReadOptions, WatchOptions };
