/**
 * Storage on a real etcd v3 cluster through the npm `etcd3` client.
 *
 * KV calls go through one etcd3 client over all endpoints. Watches do not use etcd3's Watcher
 * (it resumes from header revisions and loses events on reconnect, and hides compaction): each
 * watch drives its own raw Watch stream (see etcd/etcd-watch-stream.ts) through a client pinned to one
 * endpoint, so that a reconnect can pick the member, and a stream failure resets only that
 * member's watch channel.
 *
 * Liveness of a watch, in layers:
 * - gRPC keepalive pings (`keepaliveTimeMs` + `keepaliveTimeoutMs`, 30 s + 10 s like
 *   kube-apiserver) close a connection whose peer stopped answering;
 * - require-leader metadata makes a member that loses quorum cancel the stream ("no leader");
 * - a backstop: a stream silent for a third of `watchLivenessTimeoutMs` is sent a progress
 *   request, and one silent for the whole `watchLivenessTimeoutMs` is restarted on another member.
 * A stalled (e.g. SIGSTOPped) member is therefore detected within `watchLivenessTimeoutMs`
 * (default 30 s). The watch then resumes on any member that answers; if none does for
 * `watchUnavailableTimeoutMs` (default 30 s) the iterator ends with WC_ERR_UNAVAILABLE, so a
 * watch never stalls silently for longer than the sum of the two (default 60 s).
 *
 * Time: the watch streams' rules read the injected Clock; gRPC call deadlines are absolute wall
 * times (Date.now), and the timers that must keep the process alive (reconnect, compaction probe)
 * are plain timers.
 *
 * Why one file of ~670 lines: the Storage interface on one client, with the compaction probe and
 * the member-version probe that share its endpoints and caches; the raw watch stream, the wire
 * conversions and the gRPC interceptor are in etcd/.
 */
import {
  ClientClosedError,
  Etcd3,
  isRecoverableError,
  type IOptions,
  type IRangeResponse,
  type IResponseOp,
  type ITxnResponse,
  type IWatchResponse,
} from 'etcd3';
import { CompactedError, type ErrorCode, ErrorCodes, type ErrorDetails, invalidStorageArgument, StorageError } from '../errors.js';
import { checkKey, checkLimit, checkOptionalRevision } from './arguments.js';
import { realClock, type Clock } from '../clock.js';
import { requireLeaderInterceptor } from './etcd/grpc.js';
import {
  EtcdWatch,
  type EtcdWatchStreamEvent,
  type RawWatchStream,
  type WatchStreamHost,
  type WatchTiming,
} from './etcd/etcd-watch-stream.js';
import {
  errorMessage,
  keyBytes,
  prefixRange,
  progressRequestsAreOrdered,
  toKeyValue,
  toNumber,
  valueBytes,
} from './etcd/wire.js';
import type {
  DeleteResult,
  StorageGetOptions,
  GetResult,
  KeyValue,
  StorageListOptions,
  StorageListResult,
  Storage,
  WatchBatch,
  StorageWatchOptions,
  WriteOptions,
} from './storage.js';

export type { EtcdWatchRestartReason, EtcdWatchStreamEvent } from './etcd/etcd-watch-stream.js';

export interface EtcdStorageOptions {
  /**
   * Client URLs of etcd members, e.g. `['http://127.0.0.1:2379']` (`https://` for TLS; all or
   * none). Point them at members, not at a gRPC proxy: the proxy does not support progress
   * requests and drops slow watch streams.
   */
  endpoints: string[];
  /**
   * How long a member may take to answer before the attempt counts as failed, in ms: the wait for
   * a new watch stream's `created` response and for the version probe. Default 20 000 (the
   * kube-apiserver dial timeout).
   */
  dialTimeoutMs?: number;
  /** Deadline of one attempt of a unary call (get, list, writes, compact), in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /**
   * gRPC keepalive ping interval on busy connections, in ms. Default 30 000 (kube-apiserver).
   * Must be >= 5 000: etcd answers pings more frequent than its `--grpc-keepalive-min-time`
   * (5 s) with GOAWAY.
   */
  keepaliveTimeMs?: number;
  /** How long a keepalive ping may go unanswered before the connection is closed, in ms. Default 10 000. */
  keepaliveTimeoutMs?: number;
  /**
   * Largest gRPC message accepted, in bytes. Default 64 MiB. grpc-js would otherwise refuse
   * anything over 4 MiB, and a single large revision would put a watch in a reconnect loop.
   */
  maxReceiveBytes?: number;
  /**
   * Liveness bound of a watch stream, in ms: a stream that receives nothing (no event, no progress
   * notification, no reply to the progress requests sent after a third of this) for this long is
   * restarted on another member. Time the stream is paused because the consumer is not reading
   * does not count. 0 disables the backstop (keepalive and require-leader remain); do so behind a
   * gRPC proxy, which ignores progress requests, or idle watches restart once per bound.
   * Default 30 000.
   */
  watchLivenessTimeoutMs?: number;
  /**
   * How long a watch keeps trying to resume after a failure, in ms, before its iterator ends
   * with WC_ERR_UNAVAILABLE. Default 30 000.
   */
  watchUnavailableTimeoutMs?: number;
  /** First delay before reopening a failed watch stream, in ms; doubles up to the max. Default 100. */
  watchRetryInitialDelayMs?: number;
  /** Largest delay between attempts to reopen a watch stream, in ms. Default 2 000. */
  watchRetryMaxDelayMs?: number;
  /** TLS material, passed to etcd3 (see its `credentials` option). */
  credentials?: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /**
   * The members' `--experimental-watch-progress-notify-interval` in ms, when it is set (etcd's
   * default is 10 minutes). Periodic notifications are ordered with events on every etcd
   * version, so with an interval well below the cache's 3 s freshness wait (e.g. 100–1000 ms)
   * the cache serves consistent reads even from an etcd older than 3.4.31 / 3.5.13, whose
   * answers to progress requests cannot be trusted. Unset: trusted by member version only.
   */
  progressNotifyIntervalMs?: number;
  /** etcd user and password, passed to etcd3. */
  auth?: { username: string; password: string };
  /** Observer of watch stream connects and restarts (for logs and metrics). Must not throw. */
  onWatchStreamEvent?: (event: EtcdWatchStreamEvent) => void;
  /** Time of the watch streams' liveness and unavailability rules; default real time. */
  clock?: Clock;
}

const DEFAULTS = {
  dialTimeoutMs: 20_000,
  requestTimeoutMs: 30_000,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  maxReceiveBytes: 64 * 1024 * 1024,
  watchLivenessTimeoutMs: 30_000,
  watchUnavailableTimeoutMs: 30_000,
  watchRetryInitialDelayMs: 100,
  watchRetryMaxDelayMs: 2_000,
} as const;

/** Attempts of a read that fails with UNAVAILABLE. */
const READ_ATTEMPTS = 3;

/** etcd's --grpc-keepalive-min-time default. */
const ETCD_MIN_KEEPALIVE_MS = 5_000;

/** How long to wait for the watch that reveals the compact revision after a "compacted" error. */
const COMPACT_PROBE_TIMEOUT_MS = 2_000;

const COMPACTED_MESSAGE = 'required revision has been compacted';
const FUTURE_MESSAGE = 'required revision is a future revision';

function checkDuration(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw invalidStorageArgument(`${name} must be a number >= ${min}, got ${value}`);
  return value;
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/**
 * A fault-handling policy that just runs the call, where etcd3's defaults would get in the way:
 * its global retry (see the KV client) and, for watch clients, its per-host circuit breaker, which
 * would keep refusing a member for 5 s after it came back although the watch's own backoff and
 * endpoint choice already pace reconnects.
 */
const passThrough = {
  execute: <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
} as unknown as HostPolicy;

function firstResponse(txn: ITxnResponse): IResponseOp | undefined {
  return txn.responses[0];
}

function iterableOf(iterator: () => AsyncIterator<WatchBatch>): AsyncIterable<WatchBatch> {
  return { [Symbol.asyncIterator]: iterator };
}

/** An iterator that rejects once with `error`, then is done. */
function failedIterator(error: unknown): AsyncIterator<WatchBatch> {
  let pending = true;
  return {
    next: () => {
      if (!pending) return Promise.resolve({ value: undefined, done: true });
      pending = false;
      return Promise.reject(error);
    },
    return: () => {
      pending = false;
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}

/** The other etcd and gRPC failures, by what their message says (first match wins; else INTERNAL). */
const ERROR_MESSAGES: ReadonlyArray<{
  when: (message: string, err: unknown) => boolean;
  code: ErrorCode;
  message?: (message: string) => string;
}> = [
  { when: (m) => m.includes('larger than max'), code: ErrorCodes.INTERNAL, message: (m) => `${m} (raise maxReceiveBytes)` },
  // The value (with its key and the request around it) passes etcd's --max-request-bytes.
  { when: (m) => m.includes('request is too large'), code: ErrorCodes.REQUEST_TOO_LARGE },
  { when: (m) => m.includes('key is not provided'), code: ErrorCodes.INVALID },
  {
    when: (m, err) =>
      (err instanceof Error && isRecoverableError(err)) ||
      /no leader|leader changed|timed out|too many requests|circuit breaker|not capable|UNAVAILABLE|DEADLINE_EXCEEDED/i.test(m),
    code: ErrorCodes.UNAVAILABLE,
  },
];

export class EtcdStorage implements Storage {
  readonly #endpoints: readonly string[];
  readonly #client: Etcd3;
  /** One client per endpoint for watch streams, created on first use. */
  readonly #watchClients = new Map<string, Etcd3>();
  readonly #clientOptions: IOptions;
  readonly #watches = new Set<EtcdWatch>();
  readonly #endpointFailedAt = new Map<string, number>();
  readonly #orderedProgress = new Map<string, Promise<boolean>>();
  /** The settled answers of orderedProgress. */
  readonly #orderedKnown = new Map<string, boolean>();
  readonly #progressNotifyIntervalMs: number | undefined;
  readonly #dialTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #timing: WatchTiming;
  readonly #onWatchStreamEvent: ((event: EtcdWatchStreamEvent) => void) | undefined;
  readonly #host: WatchStreamHost;
  readonly #clock: Clock;
  #knownCompactRevision = 0;
  #watchIds = 0;
  #closed = false;

  constructor(options: EtcdStorageOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw invalidStorageArgument('endpoints must list at least one etcd client URL');
    }
    this.#endpoints = [...options.endpoints];
    // Every numeric setting: the option or its default, checked against its floor.
    const setting = (name: keyof typeof DEFAULTS, min: number): number => checkDuration(name, options[name] ?? DEFAULTS[name], min);
    this.#dialTimeoutMs = setting('dialTimeoutMs', 1);
    this.#requestTimeoutMs = setting('requestTimeoutMs', 1);
    const keepaliveTimeMs = setting('keepaliveTimeMs', ETCD_MIN_KEEPALIVE_MS);
    const keepaliveTimeoutMs = setting('keepaliveTimeoutMs', 1);
    const maxReceiveBytes = setting('maxReceiveBytes', 1);
    this.#timing = {
      dialTimeoutMs: this.#dialTimeoutMs,
      livenessTimeoutMs: setting('watchLivenessTimeoutMs', 0),
      unavailableTimeoutMs: setting('watchUnavailableTimeoutMs', 1),
      retryInitialDelayMs: setting('watchRetryInitialDelayMs', 1),
      retryMaxDelayMs: setting('watchRetryMaxDelayMs', 1),
    };
    this.#onWatchStreamEvent = options.onWatchStreamEvent;
    this.#clock = options.clock ?? realClock;
    this.#progressNotifyIntervalMs =
      options.progressNotifyIntervalMs === undefined ? undefined : checkDuration('progressNotifyIntervalMs', options.progressNotifyIntervalMs, 1);

    const requestTimeoutMs = this.#requestTimeoutMs;
    this.#clientOptions = {
      hosts: [...this.#endpoints],
      grpcOptions: {
        'grpc.keepalive_time_ms': keepaliveTimeMs,
        'grpc.keepalive_timeout_ms': keepaliveTimeoutMs,
        // No keepalive_permit_without_calls: etcd's enforcement policy refuses pings on idle
        // connections and would GOAWAY us.
        'grpc.max_receive_message_length': maxReceiveBytes,
        // grpc-js backs reconnects off up to 120 s by default; a restarted member should be
        // picked up within seconds.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2_000,
      },
      // Streams live as long as the watch; only unary calls get a deadline.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      // etcd3 would retry every call on UNAVAILABLE, writes included: a txn that committed before
      // the connection dropped would then fail its own precondition and report a false
      // ALREADY_EXISTS or CONFLICT. Reads are retried here instead (see range()); a write that
      // fails with WC_ERR_UNAVAILABLE may or may not have been applied, as with any etcd client.
      faultHandling: { global: passThrough },
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
    };
    this.#client = new Etcd3(this.#clientOptions);

    this.#host = {
      timing: this.#timing,
      clock: this.#clock,
      pickEndpoint: (previous) => this.#pickEndpoint(previous),
      openStream: (endpoint) => this.#openWatchStream(endpoint),
      progressRequestsOrdered: (endpoint) => this.#progressRequestsOrdered(endpoint),
      endpointFailed: (endpoint) => {
        this.#endpointFailedAt.set(endpoint, this.#clock.now());
        // The member may come back as another version.
        this.#orderedProgress.delete(endpoint);
        this.#orderedKnown.delete(endpoint);
      },
      noteCompactRevision: (revision) => this.#noteCompactRevision(revision),
      nextWatchId: () => ++this.#watchIds,
      release: (watch) => {
        this.#watches.delete(watch);
      },
      emit: (event) => {
        try {
          this.#onWatchStreamEvent?.(event);
        } catch {
          // An observer must not break the watch it observes.
        }
      },
    };
  }

  async get(key: string, options: StorageGetOptions = {}): Promise<GetResult> {
    this.#checkOpen();
    checkKey(key);
    checkOptionalRevision(options.revision, 'revision');
    const response = await this.#range(
      { key: keyBytes(key), ...(options.revision !== undefined ? { revision: options.revision } : {}) },
      options.revision,
    );
    const kv = response.kvs[0];
    return {
      item: kv ? toKeyValue(kv) : null,
      revision: options.revision ?? toNumber(response.header.revision),
    };
  }

  async list(prefix: string, options: StorageListOptions = {}): Promise<StorageListResult> {
    this.#checkOpen();
    if (typeof prefix !== 'string') throw invalidStorageArgument('prefix must be a string');
    checkOptionalRevision(options.revision, 'revision');
    const limit = options.limit ?? 0;
    checkLimit(limit);
    const { key, rangeEnd } = prefixRange(prefix);
    let start = key;
    if (options.continueKey !== undefined) {
      if (!options.continueKey.startsWith(prefix)) {
        throw invalidStorageArgument(`continueKey ${JSON.stringify(options.continueKey)} is not under prefix ${JSON.stringify(prefix)}`);
      }
      start = keyBytes(options.continueKey);
    }
    const response = await this.#range(
      {
        key: start,
        range_end: rangeEnd,
        ...(limit > 0 ? { limit } : {}),
        ...(options.revision !== undefined ? { revision: options.revision } : {}),
      },
      options.revision,
    );
    const items = response.kvs.map(toKeyValue);
    const result: StorageListResult = {
      items,
      // The first page pins the revision later pages must pass back.
      revision: options.revision ?? toNumber(response.header.revision),
      more: response.more,
    };
    const last = items[items.length - 1];
    if (response.more && last !== undefined) result.continueKey = `${last.key}\0`;
    return result;
  }

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    this.#checkOpen();
    checkKey(key);
    const k = keyBytes(key);
    const response = await this.#txn(() =>
      this.#client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: valueBytes(value) } }],
      }),
    );
    if (!response.succeeded) throw new StorageError(ErrorCodes.ALREADY_EXISTS, `key ${JSON.stringify(key)} already exists`);
    const revision = toNumber(response.header.revision);
    return { key, value, createRevision: revision, modRevision: revision, version: 1 };
  }

  async update(key: string, value: Uint8Array, options: WriteOptions = {}): Promise<KeyValue> {
    this.#checkOpen();
    checkKey(key);
    checkOptionalRevision(options.expectedModRevision, 'expectedModRevision');
    const k = keyBytes(key);
    const response = await this.#txn(() =>
      this.#client.kv.txn({
        compare: [this.#precondition(k, options)],
        // Reading the key back inside the txn gives etcd's own create revision and version
        // (keys_only: without echoing the value).
        success: [{ request_put: { key: k, value: valueBytes(value) } }, { request_range: { key: k, keys_only: true } }],
        failure: [{ request_range: { key: k, keys_only: true } }],
      }),
    );
    if (!response.succeeded) throw this.#preconditionFailed(key, response, options);
    const written = response.responses[1]?.response_range?.kvs[0];
    if (written === undefined) throw new StorageError(ErrorCodes.INTERNAL, `etcd did not return ${JSON.stringify(key)} after writing it`);
    return {
      key,
      value,
      createRevision: toNumber(written.create_revision),
      modRevision: toNumber(written.mod_revision),
      version: toNumber(written.version),
    };
  }

  async delete(key: string, options: WriteOptions = {}): Promise<DeleteResult> {
    this.#checkOpen();
    checkKey(key);
    checkOptionalRevision(options.expectedModRevision, 'expectedModRevision');
    const k = keyBytes(key);
    const response = await this.#txn(() =>
      this.#client.kv.txn({
        compare: [this.#precondition(k, options)],
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k, keys_only: true } }],
      }),
    );
    if (!response.succeeded) throw this.#preconditionFailed(key, response, options);
    const prev = firstResponse(response)?.response_delete_range?.prev_kvs[0];
    if (prev === undefined) throw new StorageError(ErrorCodes.INTERNAL, `etcd did not return ${JSON.stringify(key)} as deleted`);
    return { deleted: toKeyValue(prev), revision: toNumber(response.header.revision) };
  }

  watch(prefix: string, options: StorageWatchOptions): AsyncIterable<WatchBatch> {
    return iterableOf(() => {
      try {
        this.#checkOpen();
        if (typeof prefix !== 'string') throw invalidStorageArgument('prefix must be a string');
        if (!Number.isSafeInteger(options.fromRevision) || options.fromRevision < 1) {
          throw invalidStorageArgument(`fromRevision must be a positive integer, got ${options.fromRevision}`);
        }
      } catch (err) {
        return failedIterator(err);
      }
      const watch = new EtcdWatch(this.#host, prefix, options);
      this.#watches.add(watch);
      watch.start();
      return watch;
    });
  }

  async currentRevision(): Promise<number> {
    this.#checkOpen();
    // Linearizable (etcd3's default), so the revision is at least that of every write
    // acknowledged before the call. Any key works; count_only keeps the answer tiny.
    const response = await this.#range({ key: Buffer.from([0]), count_only: true }, undefined);
    return toNumber(response.header.revision);
  }

  async requestProgress(): Promise<void> {
    this.#checkOpen();
    for (const watch of this.#watches) watch.requestProgress();
  }

  /**
   * Trusted with a configured progress-notify interval, or when every member is known to answer
   * progress requests in order (the reflector's watch may move to any of them). A member whose
   * version is not known yet is probed in the background and counts as untrusted meanwhile.
   */
  progressTrusted(): boolean {
    if (this.#progressNotifyIntervalMs !== undefined) return true;
    let trusted = true;
    for (const endpoint of this.#endpoints) {
      const known = this.#orderedKnown.get(endpoint);
      if (known === undefined && !this.#closed) this.#progressRequestsOrdered(endpoint).catch(() => undefined);
      if (known !== true) trusted = false;
    }
    return trusted;
  }

  async compact(revision: number): Promise<void> {
    this.#checkOpen();
    checkOptionalRevision(revision, 'revision');
    try {
      await this.#client.kv.compact({ revision, physical: false });
    } catch (err) {
      throw await this.#mapError(err, revision);
    }
    this.#noteCompactRevision(revision);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of [...this.#watches]) watch.stop();
    this.#watches.clear();
    for (const client of this.#watchClients.values()) client.close();
    this.#watchClients.clear();
    this.#client.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError(ErrorCodes.CLOSED, 'EtcdStorage is closed');
  }

  #precondition(key: Buffer, options: WriteOptions) {
    return options.expectedModRevision !== undefined
      ? { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: options.expectedModRevision }
      : { key, target: 'Create' as const, result: 'Greater' as const, create_revision: 0 };
  }

  #preconditionFailed(key: string, response: ITxnResponse, options: WriteOptions): StorageError {
    const current = firstResponse(response)?.response_range?.kvs[0];
    if (current === undefined) return new StorageError(ErrorCodes.NOT_FOUND, `key ${JSON.stringify(key)} not found`);
    return new StorageError(
      ErrorCodes.CONFLICT,
      `key ${JSON.stringify(key)} is at mod revision ${toNumber(current.mod_revision)}, expected ${String(options.expectedModRevision)}`,
    );
  }

  async #range(request: Parameters<Etcd3['kv']['range']>[0], requestedRevision: number | undefined): Promise<IRangeResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#client.kv.range(request);
      } catch (err) {
        const mapped = await this.#mapError(err, requestedRevision);
        // Reads are safe to repeat; each attempt picks a member afresh.
        if (mapped.code !== ErrorCodes.UNAVAILABLE || attempt >= READ_ATTEMPTS || this.#closed) throw mapped;
      }
    }
  }

  async #txn(run: () => Promise<ITxnResponse>): Promise<ITxnResponse> {
    try {
      return await run();
    } catch (err) {
      throw await this.#mapError(err, undefined);
    }
  }

  /** An etcd3/gRPC failure as a StorageError with a stable code. */
  async #mapError(err: unknown, requestedRevision: number | undefined): Promise<StorageError> {
    if (err instanceof StorageError) return err;
    const message = errorMessage(err);
    if (message.includes(COMPACTED_MESSAGE)) {
      const requested = requestedRevision ?? 0;
      // etcd's error does not say where the compaction point is; ask, or fall back to the best
      // lower bound known (the point is past the refused revision).
      const probed = await this.#probeCompactRevision().catch(() => 0);
      this.#noteCompactRevision(probed);
      return new CompactedError(requested, Math.max(this.#knownCompactRevision, requested + 1), { cause: err });
    }
    if (message.includes(FUTURE_MESSAGE)) {
      const details: ErrorDetails = {};
      try {
        details.currentRevision = await this.currentRevision();
      } catch {
        // best effort
      }
      return new StorageError(
        ErrorCodes.FUTURE_REVISION,
        `revision ${String(requestedRevision)} is in the future${details.currentRevision !== undefined ? ` (current revision ${details.currentRevision})` : ''}`,
        details,
        { cause: err },
      );
    }
    if (err instanceof ClientClosedError || this.#closed) {
      return new StorageError(ErrorCodes.CLOSED, `EtcdStorage is closed: ${message}`, {}, { cause: err });
    }
    const known = ERROR_MESSAGES.find((row) => row.when(message, err));
    return new StorageError(known?.code ?? ErrorCodes.INTERNAL, known?.message?.(message) ?? message, {}, { cause: err });
  }

  #noteCompactRevision(revision: number): void {
    if (revision > this.#knownCompactRevision) this.#knownCompactRevision = revision;
  }

  /**
   * The store's compact revision, learnt the cheap way: a watch from revision 1 is canceled at
   * once with `compact_revision` set when history has been compacted (HashKV would also tell,
   * but hashes the whole keyspace). Resolves 0 when no answer comes in time.
   */
  async #probeCompactRevision(): Promise<number> {
    const stream = (await this.#client.watchClient.watch()) as unknown as RawWatchStream;
    return new Promise<number>((resolve) => {
      const done = (revision: number) => {
        clearTimeout(timer);
        stream.on('error', () => undefined);
        try {
          stream.end();
          stream.cancel();
        } catch {
          // already closed
        }
        resolve(revision);
      };
      const timer = setTimeout(() => done(0), Math.min(COMPACT_PROBE_TIMEOUT_MS, this.#dialTimeoutMs));
      stream.on('data', (response: IWatchResponse) => {
        if (response.canceled) done(toNumber(response.compact_revision));
        else if (response.events.length > 0) done(0);
      });
      stream.on('error', () => done(0));
      stream.on('end', () => done(0));
      stream.write({ create_request: { key: Buffer.from([0]), start_revision: 1, watch_id: 1 } });
    });
  }

  #watchClientFor(endpoint: string): Etcd3 {
    let client = this.#watchClients.get(endpoint);
    if (client === undefined) {
      client = new Etcd3({
        ...this.#clientOptions,
        hosts: [endpoint],
        faultHandling: { host: () => passThrough, global: passThrough },
        grpcOptions: {
          ...this.#clientOptions.grpcOptions,
          // Own connections, apart from KV traffic and from other endpoints' clients, so that
          // resetting this channel after a failure really dials afresh.
          'grpc.use_local_subchannel_pool': 1,
        },
      });
      this.#watchClients.set(endpoint, client);
    }
    return client;
  }

  async #openWatchStream(endpoint: string): Promise<RawWatchStream> {
    if (this.#closed) throw new StorageError(ErrorCodes.CLOSED, 'EtcdStorage is closed');
    const stream = await this.#watchClientFor(endpoint).watchClient.watch({ interceptors: [requireLeaderInterceptor] });
    const raw = stream as unknown as Partial<RawWatchStream>;
    // etcd3 types the stream narrowly; flow control needs the grpc-js stream's pause/resume.
    if (typeof raw.pause !== 'function' || typeof raw.resume !== 'function') {
      stream.cancel();
      throw new StorageError(ErrorCodes.INTERNAL, 'etcd3 returned a watch stream without pause/resume');
    }
    return stream as unknown as RawWatchStream;
  }

  #progressRequestsOrdered(endpoint: string): Promise<boolean> {
    let ordered = this.#orderedProgress.get(endpoint);
    if (ordered === undefined) {
      ordered = this.#watchClientFor(endpoint)
        .maintenance.status({ deadline: Date.now() + this.#dialTimeoutMs })
        .then((status) => {
          const answer = progressRequestsAreOrdered(status.version);
          if (this.#orderedProgress.get(endpoint) === ordered) this.#orderedKnown.set(endpoint, answer);
          return answer;
        });
      // A failed probe is retried on the next connect rather than remembered.
      ordered.catch(() => {
        if (this.#orderedProgress.get(endpoint) === ordered) this.#orderedProgress.delete(endpoint);
      });
      this.#orderedProgress.set(endpoint, ordered);
    }
    return ordered;
  }

  #pickEndpoint(previous: string | null): string {
    const count = this.#endpoints.length;
    const after = previous === null ? Math.floor(Math.random() * count) : this.#endpoints.indexOf(previous) + 1;
    let best = this.#endpoints[after % count] as string;
    let bestFailedAt = this.#endpointFailedAt.get(best) ?? 0;
    // Round robin from the one after `previous`, but the member that failed longest ago (or
    // never) wins.
    for (let i = 1; i < count; i++) {
      const candidate = this.#endpoints[(after + i) % count] as string;
      const failedAt = this.#endpointFailedAt.get(candidate) ?? 0;
      if (failedAt < bestFailedAt) {
        best = candidate;
        bestFailedAt = failedAt;
      }
    }
    return best;
  }
}
