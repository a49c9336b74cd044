/**
 * /metrics with prom-client: the server's metrics seam (metrics.ts) implemented over a Registry
 * of its own, so two servers in one process (or an embedder's own metrics) never share series.
 *
 * Two kinds of series:
 * - request series, updated by the hooks the server calls once per request or watch (never per
 *   event): apiserver_request_total, apiserver_request_duration_seconds,
 *   apiserver_longrunning_requests, watchcache_watch_ends_total;
 * - cache series, read from every cacher's stats() when /metrics is scraped (prom-client's
 *   `collect`), so that the dispatch path pays nothing for them.
 *
 * Names follow kube-apiserver where the meaning is the same
 * (k8s.io/apiserver/pkg/storage/cacher/metrics/metrics.go);
 * watchcache's own series are prefixed `watchcache_`. docs/server.md lists them all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacherStats } from '../cache/cacher.js';
import type { ResourceCache } from './caches.js';
import type { RequestVerb, ServerMetrics } from './metrics.js';

/** kube-apiserver's buckets for apiserver_request_duration_seconds. */
const REQUEST_DURATION_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];

/** kube-apiserver keeps the RV gauge below 2^53 by keeping its 15 least significant digits. */
const RV_MODULUS = 1e15;

export interface MetricsOptions {
  /**
   * Also export prom-client's process and Node.js series (CPU, memory, event-loop lag, GC,
   * handles). Default true. They are collected at scrape time too, except the event-loop delay
   * monitor, which runs for the life of the process once enabled.
   */
  processMetrics?: boolean;
}

export interface PrometheusMetrics extends ServerMetrics {
  /** This server's registry, e.g. to add an embedder's own series or to read them in tests. */
  readonly registry: Registry;
}

type CacheLabels = 'group' | 'resource';

interface CacheSample {
  labels: Record<CacheLabels, string>;
  cache: ResourceCache;
  stats: CacherStats;
}

/** Creates the metrics for one server: pass it as `metrics` to createServer / startServer. */
export function createMetrics(options: MetricsOptions = {}): PrometheusMetrics {
  return new Metrics(options);
}

class Metrics implements PrometheusMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'verb' | 'resource' | 'code'>;
  readonly #durations: Histogram<'verb' | 'resource'>;
  readonly #longRunning: Gauge<'verb' | 'resource'>;
  readonly #watchEnds: Counter<'resource' | 'reason'>;
  readonly #deliveryLatency: Histogram<'resource'>;
  #caches: readonly ResourceCache[] = [];
  /**
   * One stats() per cache per scrape: every collect of one scrape runs in the same turn (the
   * registry starts them all at once), so the series of a scrape agree with each other.
   */
  #snapshot: CacheSample[] | undefined;

  constructor(options: MetricsOptions) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Requests served, by verb, resource and HTTP code (a watch counts once, when it ends).',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.#durations = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Time from a request to the end of its response, by verb and resource (a watch: its whole life).',
      labelNames: ['verb', 'resource'],
      buckets: REQUEST_DURATION_BUCKETS,
      registers,
    });
    this.#longRunning = new Gauge({
      name: 'apiserver_longrunning_requests',
      help: 'HTTP watches streaming now, by resource.',
      labelNames: ['verb', 'resource'],
      registers,
    });
    this.#watchEnds = new Counter({
      name: 'watchcache_watch_ends_total',
      help: 'HTTP watches that ended, by resource and by who ended them: client (disconnect) or server (timeout, error, relist, stop).',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.#deliveryLatency = new Histogram({
      name: 'watchcache_delivery_latency_seconds',
      help: 'Per delivery batch: from the cache appending its newest event to the frames reaching the subscribers on the main thread.',
      labelNames: ['resource'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#cacheSeries(registers);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  onRequest(verb: RequestVerb, resource: string, code: number, seconds: number): void {
    this.#requests.inc({ verb, resource, code: String(code) });
    this.#durations.observe({ verb, resource }, seconds);
  }

  onWatchStart(resource: string): void {
    this.#longRunning.inc({ verb: 'WATCH', resource });
  }

  onWatchEnd(resource: string, reason: 'client' | 'server'): void {
    this.#longRunning.dec({ verb: 'WATCH', resource });
    this.#watchEnds.inc({ resource, reason });
  }

  onDeliveryLatency(resource: string, seconds: number): void {
    this.#deliveryLatency.observe({ resource }, seconds);
  }

  attach(caches: readonly ResourceCache[]): void {
    if (this.#caches.length > 0) throw new Error('createMetrics(): one metrics object per server');
    this.#caches = caches;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = Buffer.from(await this.registry.metrics());
    res.statusCode = 200;
    res.setHeader('Content-Type', this.registry.contentType);
    res.setHeader('Content-Length', body.byteLength);
    res.setHeader('Cache-Control', 'no-cache, private');
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  #stats(): CacheSample[] {
    if (this.#snapshot === undefined) {
      this.#snapshot = this.#caches.map((cache) => ({
        labels: { group: cache.resource.group, resource: cache.resource.plural },
        cache,
        stats: cache.cacher.stats(),
      }));
      setImmediate(() => (this.#snapshot = undefined));
    }
    return this.#snapshot;
  }

  /** The series read from the caches at scrape time. */
  #cacheSeries(registers: Registry[]): void {
    const stats = (): CacheSample[] => this.#stats();
    const labelNames: CacheLabels[] = ['group', 'resource'];
    const gauge = (name: string, help: string, read: (s: CacherStats, c: ResourceCache) => number): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          for (const { labels, stats: s, cache } of stats()) this.set(labels, read(s, cache));
        },
      });
    };
    // A counter read from stats is set to the cacher's own running total: reset, then add it.
    const counter = (name: string, help: string, read: (s: CacherStats) => number): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const { labels, stats: s } of stats()) this.inc(labels, read(s));
        },
      });
    };

    gauge('apiserver_watch_cache_resource_version', 'The revision the cache has reached (its 15 least significant digits).', (s) => s.revision % RV_MODULUS);
    counter('apiserver_watch_cache_initializations_total', 'Successful (re)lists of the store that (re)filled the cache.', (s) => s.reflector.lists);
    counter(
      'apiserver_watch_cache_initialization_errors_total',
      'List-and-watch attempts that ended in an error, the end of a store watch included (each one leads to a relist).',
      (s) => s.reflector.errors,
    );
    new Counter({
      name: 'apiserver_terminated_watchers_total',
      help: 'Watchers the cache closed with an error, by reason: lapped (fell out of the window), stalled (did not read its events), dispatcherCrash.',
      labelNames: ['group', 'resource', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const { labels, stats: s } of stats()) {
          for (const [reason, count] of Object.entries(s.terminated)) this.inc({ ...labels, reason }, count);
        }
      },
    });
    new Counter({
      name: 'apiserver_watch_cache_consistent_read_total',
      help: 'Consistent LISTs the store answered (fallback="true"): its progress is not trusted, or the cache could not become fresh in time.',
      labelNames: ['group', 'resource', 'fallback'],
      registers,
      collect() {
        this.reset();
        for (const { labels, stats: s } of stats()) this.inc({ ...labels, fallback: 'true' }, s.consistentReadFallbacks);
      },
    });
    gauge('watch_cache_capacity', 'Capacity of the event window (the ring), in bytes; it grows under a burst and shrinks when idle.', (s) => s.windowBytes);
    counter('watch_cache_capacity_increase_total', 'Times the event window grew (by a segment) to keep windowSeconds of history.', (s) => s.cache.windowGrowths);
    counter('watch_cache_capacity_decrease_total', 'Times the event window shrank (by a segment) because it held more than it needed.', (s) => s.cache.windowShrinks);
    counter('apiserver_watch_cache_events_received_total', 'Events (ADDED, MODIFIED, DELETED) the cache received from the store.', (s) => s.cache.events);
    counter('watchcache_frames_delivered_total', 'Frames handed to watchers: one per event per receiving watcher.', (s) => s.framesDelivered);
    counter(
      'watchcache_delivery_batches_total',
      'Dispatch turns that delivered frames (frames per turn = frames_delivered / delivery_batches).',
      (s) => s.deliveryBatches,
    );
    gauge('watchcache_window_bytes_in_use', 'Bytes of the event window holding records.', (s) => s.windowBytesInUse);
    gauge('watchcache_window_seconds', 'Seconds of history the event window holds (watches from an RV in it resume; older ones get 410).', (s) => s.windowSeconds);
    counter(
      'watchcache_window_short_evictions_total',
      'Records evicted from the window while younger than windowSeconds (75 s, as kube-apiserver): only at the memory cap or with a fixed window; non-zero means it is too small.',
      (s) => s.cache.shortWindowEvictions,
    );
    gauge('watchcache_watchers', 'Watchers registered with the cache (HTTP and in-process).', (s) => s.watchers);
    gauge('watchcache_objects', 'Objects in the cache.', (s) => s.objects);
    gauge('watchcache_ready', '1 when the cache serves, 0 while it (re)lists or after it stopped.', (_s, c) => (c.cacher.state === 'ready' ? 1 : 0));
    const perDispatcher = (name: string, help: string, read: (d: CacherStats['dispatchers'][number]) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: [...labelNames, 'dispatcher'],
        registers,
        collect() {
          this.reset();
          for (const { labels, stats: s } of stats()) {
            s.dispatchers.forEach((d, i) => this.set({ ...labels, dispatcher: String(i) }, read(d)));
          }
        },
      });
    };
    perDispatcher('watchcache_dispatcher_watchers', 'Watchers per dispatcher (thread, or the inline one), as of its last tick.', (d) => d.watchers);
    perDispatcher('watchcache_dispatcher_behind_watchers', 'Watchers reading behind the live cursor (catching up or stalled), per dispatcher.', (d) => d.behind);
    perDispatcher('watchcache_dispatcher_stalled_watchers', 'Watchers stalled by a full buffer, per dispatcher.', (d) => d.stalled);
    perDispatcher('watchcache_dispatcher_lag_revisions', "How many revisions a dispatcher's live cursor is behind the cache, as of its last tick.", (d) => d.lagRevisions);
    new Gauge({
      name: 'watchcache_partition_watchers',
      help: 'Watchers per logical partition (by trigger value; watchers without one are spread); empty partitions are left out.',
      labelNames: [...labelNames, 'partition'],
      registers,
      collect() {
        this.reset();
        for (const { labels, stats: s } of stats()) {
          s.partitions.forEach((n, i) => {
            if (n > 0) this.set({ ...labels, partition: String(i) }, n);
          });
        }
      },
    });
    counter('watchcache_decode_errors_total', 'Stored values the cache could not decode as objects (applied as deletions).', (s) => s.cache.decodeErrors);
  }
}
