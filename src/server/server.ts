/**
 * The HTTP front: a Kubernetes-compatible API server over one Cacher per resource.
 *
 * Life cycle: `createServer` builds the registry and starts every cache (each lists and watches
 * its prefix at once); `listen` binds; `ready` resolves when every cache has its first list;
 * `startServer` does all three. `close` refuses new watches, ends the running ones cleanly (no
 * ERROR event: clients re-watch from their last RV), stops the caches and closes the listener.
 * The Storage belongs to the caller and is not closed.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, positiveOption, WatchCacheError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { TokenTable } from './auth.js';
import { DEFAULT_MAX_OBJECT_BYTES } from './body.js';
import { ResourceCaches, type CacherTuning, type ResourceCache } from './caches.js';
import { createHandler } from './handler.js';
import { JSON_WATCH_ENCODING, MSGPACK_WATCH_ENCODING, PROTOBUF_WATCH_ENCODING, type WatchEncoding } from './media.js';
import type { ServerMetrics } from './metrics.js';
import { BUILTIN_RESOURCES, Registry, type ResourceDefinition } from './registry.js';
import { WatchHub } from './watch-hub.js';

export interface ServerLimits {
  /** Largest request body, in bytes. Default 3 MiB (kube-apiserver's limit). */
  maxBodyBytes?: number;
  /**
   * Largest object written, serialized, in bytes; also what the copies of one JSON patch may add.
   * Default 1.5 MiB (etcd's default request limit). Larger objects are refused with 413.
   */
  maxObjectBytes?: number;
  /** Time a client has to send its request body, in ms. Default 60 000. */
  bodyTimeoutMs?: number;
  /** Most concurrent watches; beyond, 429 with Retry-After. Default 10 000. */
  maxWatchers?: number;
  /** Period of the idle-watch keep-alive, in ms. Default 10 000 (an idle stream gets a byte within 20 s). */
  heartbeatMs?: number;
  /** Watches without timeoutSeconds end after a random time in [this, 2 × this] s. Default 1800. */
  minRequestTimeoutSeconds?: number;
  /** A client's timeoutSeconds is capped here. Default 2 × minRequestTimeoutSeconds. */
  maxWatchTimeoutSeconds?: number;
  /** Time a client has to send its request headers, in ms. Default 60 000. */
  headersTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, in ms. Default 30 000. */
  keepAliveTimeoutMs?: number;
  /** How long close() lets in-flight requests finish before cutting connections, in ms. Default 5 000. */
  shutdownGraceMs?: number;
}

export interface ServerOptions {
  /** Where objects live; writes go straight to it. The caller owns (and closes) it. */
  storage: Storage;
  /** Default 127.0.0.1: reachable from this machine only unless asked otherwise. */
  host?: string;
  /** Default 8080 (kubectl's default server); 0 picks a free port. */
  port?: number;
  /** The storage key prefix everything lives under. Default `/registry`. */
  prefix?: string;
  /** The resources served. Default BUILTIN_RESOURCES; add custom ones from loadResourcesFile. */
  resources?: readonly ResourceDefinition[];
  /**
   * Dispatch worker threads for each resource with an index trigger (the fan-out ones, e.g. pods;
   * see CacherOptions.workers for the default). Resources without a trigger dispatch inline, so
   * the thread count does not grow with the number of resources.
   */
  workers?: number;
  /** Bearer tokens; unset: no authentication. */
  tokens?: TokenTable;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  limits?: ServerLimits;
  metrics?: ServerMetrics;
  /** Passed to every cacher (window size, watcher buffers, clock, ...). */
  cacher?: CacherTuning;
  /** Watch encodings in preference order. Default: JSON, msgpack, Kubernetes protobuf (built-in kinds). */
  watchEncodings?: readonly WatchEncoding[];
  /** Told of unexpected failures (answered with 500) and of cache list-and-watch errors. */
  onError?: (err: unknown, context: string) => void;
}

export interface WatchcacheServer {
  /** `http(s)://host:port`, once listening. */
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  readonly caches: readonly ResourceCache[];
  /** HTTP watches currently admitted. */
  readonly watchers: number;
  listen(): Promise<string>;
  /** Resolves once every cache has completed its first list. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PREFIX = '/registry';

const DEFAULTS = {
  maxBodyBytes: 3 * 1024 * 1024,
  maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
  bodyTimeoutMs: 60_000,
  maxWatchers: 10_000,
  heartbeatMs: 10_000,
  minRequestTimeoutSeconds: 1800,
  headersTimeoutMs: 60_000,
  keepAliveTimeoutMs: 30_000,
  shutdownGraceMs: 5_000,
} as const;

/** Creates the server and starts its caches; call listen() (or use startServer). */
export function createServer(options: ServerOptions): WatchcacheServer {
  return new Server(options);
}

/** Creates the server, listens, and resolves once every cache is ready. */
export async function startServer(options: ServerOptions): Promise<WatchcacheServer> {
  const server = createServer(options);
  try {
    await server.listen();
    await server.ready();
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

class Server implements WatchcacheServer {
  readonly registry: Registry;
  readonly #caches: ResourceCaches;
  readonly #hub: WatchHub;
  readonly #http: HttpServer;
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #scheme: 'http' | 'https';
  readonly #graceMs: number;
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(options: ServerOptions) {
    const limits = options.limits ?? {};
    const minRequestTimeoutSeconds = positiveOption('limits.minRequestTimeoutSeconds', limits.minRequestTimeoutSeconds, DEFAULTS.minRequestTimeoutSeconds);
    const timeouts = {
      minRequestTimeoutSeconds,
      maxWatchTimeoutSeconds: positiveOption('limits.maxWatchTimeoutSeconds', limits.maxWatchTimeoutSeconds, 2 * minRequestTimeoutSeconds),
    };
    const body = {
      maxBytes: positiveOption('limits.maxBodyBytes', limits.maxBodyBytes, DEFAULTS.maxBodyBytes),
      timeoutMs: positiveOption('limits.bodyTimeoutMs', limits.bodyTimeoutMs, DEFAULTS.bodyTimeoutMs),
    };
    const maxObjectBytes = positiveOption('limits.maxObjectBytes', limits.maxObjectBytes, DEFAULTS.maxObjectBytes);
    const maxWatchers = positiveOption('limits.maxWatchers', limits.maxWatchers, DEFAULTS.maxWatchers);
    const heartbeatMs = positiveOption('limits.heartbeatMs', limits.heartbeatMs, DEFAULTS.heartbeatMs);
    const headersTimeoutMs = positiveOption('limits.headersTimeoutMs', limits.headersTimeoutMs, DEFAULTS.headersTimeoutMs);
    const keepAliveTimeoutMs = positiveOption('limits.keepAliveTimeoutMs', limits.keepAliveTimeoutMs, DEFAULTS.keepAliveTimeoutMs);
    this.#graceMs = positiveOption('limits.shutdownGraceMs', limits.shutdownGraceMs, DEFAULTS.shutdownGraceMs);
    const port = options.port ?? DEFAULT_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new WatchCacheError(ErrorCodes.INVALID, `port must be an integer in [0, 65535], got ${port}`);
    }
    this.#requestedPort = port;
    this.#host = options.host ?? DEFAULT_HOST;
    this.#scheme = options.tls === undefined ? 'http' : 'https';
    const encodings = options.watchEncodings ?? [JSON_WATCH_ENCODING, MSGPACK_WATCH_ENCODING, PROTOBUF_WATCH_ENCODING];
    if (encodings.length === 0) throw new WatchCacheError(ErrorCodes.INVALID, 'watchEncodings must not be empty');

    this.registry = new Registry(options.resources ?? BUILTIN_RESOURCES, options.prefix ?? DEFAULT_PREFIX);
    const onError = options.onError;
    this.#caches = new ResourceCaches(this.registry, options.storage, {
      ...(options.workers === undefined ? {} : { workers: options.workers }),
      ...(options.cacher === undefined ? {} : { tuning: options.cacher }),
      ...(onError === undefined ? {} : { onError: (def: ResourceDefinition, err: unknown) => onError(err, `cache ${def.plural}`) }),
      ...(options.metrics?.onDeliveryLatency === undefined
        ? {}
        : { onDeliveryLatency: (def: ResourceDefinition, seconds: number) => options.metrics!.onDeliveryLatency!(def.plural, seconds) }),
    });
    this.#hub = new WatchHub(maxWatchers, heartbeatMs);

    const handler = createHandler({
      registry: this.registry,
      caches: this.#caches,
      hub: this.#hub,
      write: { storage: options.storage, registry: this.registry, body, maxObjectBytes },
      timeouts,
      encodings,
      tokens: options.tokens,
      metrics: options.metrics,
      serverAddress: () => `${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`,
      closing: () => this.#closing !== undefined,
      onError,
    });
    // requestTimeout bounds the whole request in Node, which a watch is: 0 turns it off, and the
    // server's own limits (headers timeout, body timeout, watch timeouts) bound everything instead.
    const serverOptions = { requestTimeout: 0, headersTimeout: headersTimeoutMs, keepAliveTimeout: keepAliveTimeoutMs };
    this.#http =
      options.tls === undefined
        ? createHttpServer(serverOptions, handler)
        : createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, handler);
    this.#http.keepAliveTimeout = keepAliveTimeoutMs;
    this.#http.headersTimeout = headersTimeoutMs;
    this.#http.requestTimeout = 0;
    options.metrics?.attach?.(this.#caches.entries());
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `${this.#scheme}://${host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get caches(): readonly ResourceCache[] {
    return this.#caches.entries();
  }

  get watchers(): number {
    return this.#hub.count;
  }

  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#http.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this.#http.off('error', onError);
        this.#port = (this.#http.address() as AddressInfo).port;
        resolve(this.url);
      };
      this.#http.once('error', onError);
      this.#http.once('listening', onListening);
      this.#http.listen(this.#requestedPort, this.#host);
    });
  }

  ready(): Promise<void> {
    return this.#caches.ready();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this.#http.listening) resolve();
      else this.#http.close(() => resolve());
    });
    this.#hub.close();
    await this.#caches.stop();
    this.#http.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#graceMs)));
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    this.#http.closeAllConnections();
    await closed;
  }
}
