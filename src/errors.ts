/**
 * One small error hierarchy with stable codes. Codes are part of the public API: callers branch
 * on `err.code`, never on messages. Errors that cross a thread boundary travel as
 * `{code, message, ...details}` (see `toWire` / `fromWire`) and are rebuilt on the other side.
 */

export const ErrorCodes = {
  /** create() on a key that exists. */
  ALREADY_EXISTS: 'WC_ERR_ALREADY_EXISTS',
  /** A precondition (expected mod revision) did not hold. */
  CONFLICT: 'WC_ERR_CONFLICT',
  /** update()/delete()/get of a key that does not exist. */
  NOT_FOUND: 'WC_ERR_NOT_FOUND',
  /** A read or watch asked for a revision older than the store's compaction point. */
  COMPACTED: 'WC_ERR_COMPACTED',
  /** A read asked for a revision the store has not reached yet. */
  FUTURE_REVISION: 'WC_ERR_FUTURE_REVISION',
  /** The store cannot be reached (connection lost, no leader, member stalled). */
  UNAVAILABLE: 'WC_ERR_UNAVAILABLE',
  /** The caller passed something malformed (bad revision, bad key, bad option). */
  INVALID: 'WC_ERR_INVALID',
  /** The object was used after close()/stop(). */
  CLOSED: 'WC_ERR_CLOSED',
  /** An operation was aborted through its AbortSignal. */
  ABORTED: 'WC_ERR_ABORTED',
  /** A watch or read asked for a resourceVersion older than the cache's window (HTTP 410). */
  EXPIRED: 'WC_ERR_EXPIRED',
  /** The cache did not reach the requested resourceVersion within the freshness wait (HTTP 504). */
  TOO_LARGE_RESOURCE_VERSION: 'WC_ERR_TOO_LARGE_RESOURCE_VERSION',
  /** The cache is (re)initializing; retry after `retryAfterSeconds` (HTTP 429). */
  NOT_READY: 'WC_ERR_NOT_READY',
  /** A request option is malformed or options contradict each other (HTTP 400). */
  BAD_REQUEST: 'WC_ERR_BAD_REQUEST',
  /** The cacher has been stopped (HTTP 503). */
  STOPPED: 'WC_ERR_STOPPED',
  /** A record is larger than the ring's maximum record size (a quarter of the ring). */
  RECORD_TOO_LARGE: 'WC_ERR_RECORD_TOO_LARGE',
  /**
   * A ring reader's position was overwritten by the producer (it fell out of the event window,
   * or the window was reset): it must resync, and its watchers get 410 Gone.
   */
  RING_LAPPED: 'WC_ERR_RING_LAPPED',
  /** Anything that should not happen; carries the original message. */
  INTERNAL: 'WC_ERR_INTERNAL',
  /** HTTP front: no credentials, or credentials the server does not know (HTTP 401). */
  UNAUTHORIZED: 'WC_ERR_UNAUTHORIZED',
  /** HTTP front: the credentials do not allow this verb or namespace (HTTP 403). */
  FORBIDDEN: 'WC_ERR_FORBIDDEN',
  /** HTTP front: the path exists but not with this method (HTTP 405). */
  METHOD_NOT_ALLOWED: 'WC_ERR_METHOD_NOT_ALLOWED',
  /** HTTP front: none of the media types the client accepts is served here (HTTP 406). */
  NOT_ACCEPTABLE: 'WC_ERR_NOT_ACCEPTABLE',
  /** HTTP front: the request body's Content-Type is not one this request takes (HTTP 415). */
  UNSUPPORTED_MEDIA_TYPE: 'WC_ERR_UNSUPPORTED_MEDIA_TYPE',
  /**
   * The request body is larger than the server's limit, or an object larger than the store takes
   * (the server's object limit, or etcd's --max-request-bytes) (HTTP 413).
   */
  REQUEST_TOO_LARGE: 'WC_ERR_REQUEST_TOO_LARGE',
  /** HTTP front: the object fails validation, e.g. a name that is not DNS-1123 (HTTP 422). */
  INVALID_OBJECT: 'WC_ERR_INVALID_OBJECT',
  /** HTTP front: the server already serves its maximum number of watches (HTTP 429). */
  TOO_MANY_WATCHERS: 'WC_ERR_TOO_MANY_WATCHERS',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Extra, code-specific fields that survive a thread crossing. */
export interface ErrorDetails {
  /** For WC_ERR_COMPACTED: the store's compact revision (the oldest revision still readable). */
  compactRevision?: number;
  /** For WC_ERR_FUTURE_REVISION: the store's current revision when the read was refused. */
  currentRevision?: number;
  /** For WC_ERR_NOT_READY and WC_ERR_TOO_LARGE_RESOURCE_VERSION: when the client should retry. */
  retryAfterSeconds?: number;
  /** A machine-readable why, e.g. the reason an unresponsive watcher was closed. */
  reason?: string;
}

export class WatchCacheError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WatchCacheError';
    this.code = code;
    this.details = details;
  }
}

/** Errors raised by a Storage backend (MemoryStorage, EtcdStorage). */
export class StorageError extends WatchCacheError {
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
    this.name = 'StorageError';
  }
}

/** A command line that does not parse (`watchcache` and `watchcache bench` exit with 2). */
export class UsageError extends Error {}

/** 400 Bad Request: a request option or parameter that cannot be served as given. */
export function badRequest(message: string): WatchCacheError {
  return new WatchCacheError(ErrorCodes.BAD_REQUEST, message);
}

/** A bad option or argument from the embedding program (WC_ERR_INVALID), not from the wire. */
export function invalidArgument(message: string): WatchCacheError {
  return new WatchCacheError(ErrorCodes.INVALID, message);
}

/** The same from a storage backend: everything a backend throws is a StorageError. */
export function invalidStorageArgument(message: string): StorageError {
  return new StorageError(ErrorCodes.INVALID, message);
}

/**
 * An optional positive number option: `fallback` when unset. Infinity ("no limit") only where the
 * option is `unbounded`, a count or budget; a timer period must be finite (past 2^31 - 1 ms a
 * timer fires at once). The error is `invalidArgument`'s, or `rules.error`'s (a storage backend's).
 */
export function positiveOption(
  name: string,
  value: number | undefined,
  fallback: number,
  rules: { unbounded?: boolean; error?: (message: string) => WatchCacheError } = {},
): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0 && (rules.unbounded === true || Number.isFinite(value)))) {
    throw (rules.error ?? invalidArgument)(`${name} must be a positive${rules.unbounded === true ? '' : ', finite'} number, got ${String(value)}`);
  }
  return value;
}

/**
 * The revision asked for has been compacted away. `compactRevision` is the oldest revision the
 * store can still serve; a watcher must relist rather than retry the same start revision.
 */
export class CompactedError extends StorageError {
  readonly compactRevision: number;

  constructor(requested: number, compactRevision: number, options?: { cause?: unknown }) {
    super(
      ErrorCodes.COMPACTED,
      `required revision ${requested} has been compacted (compact revision ${compactRevision})`,
      { compactRevision },
      options,
    );
    this.name = 'CompactedError';
    this.compactRevision = compactRevision;
  }
}

export interface WireError extends ErrorDetails {
  code: string;
  message: string;
}

export function isWatchCacheError(err: unknown): err is WatchCacheError {
  return err instanceof WatchCacheError;
}

/** The structured-clone-safe shape of an error, for postMessage. */
export function toWire(err: unknown): WireError {
  if (err instanceof WatchCacheError) return { code: err.code, message: err.message, ...err.details };
  const message = err instanceof Error ? err.message : String(err);
  return { code: ErrorCodes.INTERNAL, message };
}

const knownCodes = new Set<string>(Object.values(ErrorCodes));

/** Rebuild an error that crossed a thread boundary, keeping its class where it has one. */
export function fromWire(wire: WireError): WatchCacheError {
  const code = (knownCodes.has(wire.code) ? wire.code : ErrorCodes.INTERNAL) as ErrorCode;
  if (code === ErrorCodes.COMPACTED && wire.compactRevision !== undefined) {
    const err = new CompactedError(0, wire.compactRevision);
    err.message = wire.message;
    return err;
  }
  const details: ErrorDetails = {};
  if (wire.compactRevision !== undefined) details.compactRevision = wire.compactRevision;
  if (wire.currentRevision !== undefined) details.currentRevision = wire.currentRevision;
  if (wire.retryAfterSeconds !== undefined) details.retryAfterSeconds = wire.retryAfterSeconds;
  if (wire.reason !== undefined) details.reason = wire.reason;
  return new WatchCacheError(code, wire.message, details);
}
