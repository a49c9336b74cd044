/**
 * Kubernetes `Status` objects: the shape every error takes on the wire (an HTTP error body, or the
 * object of an in-band ERROR watch event). One table maps our stable codes to HTTP codes and
 * Kubernetes reasons, so the cache and the server can never disagree.
 */
import { ErrorCodes, WatchCacheError, type ErrorCode } from './errors.js';

export type StatusReason =
  | 'BadRequest'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Expired'
  | 'Gone'
  | 'Invalid'
  | 'Timeout'
  | 'TooManyRequests'
  | 'ServiceUnavailable'
  | 'InternalError'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  code: number;
  details?: StatusDetails;
}

const byCode: Record<ErrorCode, { code: number; reason: StatusReason }> = {
  [ErrorCodes.ALREADY_EXISTS]: { code: 409, reason: 'AlreadyExists' },
  [ErrorCodes.CONFLICT]: { code: 409, reason: 'Conflict' },
  [ErrorCodes.NOT_FOUND]: { code: 404, reason: 'NotFound' },
  [ErrorCodes.COMPACTED]: { code: 410, reason: 'Expired' },
  [ErrorCodes.EXPIRED]: { code: 410, reason: 'Expired' },
  [ErrorCodes.FUTURE_REVISION]: { code: 504, reason: 'Timeout' },
  [ErrorCodes.TOO_LARGE_RESOURCE_VERSION]: { code: 504, reason: 'Timeout' },
  [ErrorCodes.NOT_READY]: { code: 429, reason: 'TooManyRequests' },
  [ErrorCodes.BAD_REQUEST]: { code: 400, reason: 'BadRequest' },
  [ErrorCodes.INVALID]: { code: 400, reason: 'BadRequest' },
  [ErrorCodes.UNAVAILABLE]: { code: 503, reason: 'ServiceUnavailable' },
  [ErrorCodes.STOPPED]: { code: 503, reason: 'ServiceUnavailable' },
  [ErrorCodes.CLOSED]: { code: 503, reason: 'ServiceUnavailable' },
  [ErrorCodes.ABORTED]: { code: 500, reason: 'InternalError' },
  [ErrorCodes.RECORD_TOO_LARGE]: { code: 413, reason: 'RequestEntityTooLarge' },
  [ErrorCodes.RING_LAPPED]: { code: 410, reason: 'Expired' },
  [ErrorCodes.INTERNAL]: { code: 500, reason: 'InternalError' },
  [ErrorCodes.UNAUTHORIZED]: { code: 401, reason: 'Unauthorized' },
  [ErrorCodes.FORBIDDEN]: { code: 403, reason: 'Forbidden' },
  [ErrorCodes.METHOD_NOT_ALLOWED]: { code: 405, reason: 'MethodNotAllowed' },
  [ErrorCodes.NOT_ACCEPTABLE]: { code: 406, reason: 'NotAcceptable' },
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: { code: 415, reason: 'UnsupportedMediaType' },
  [ErrorCodes.REQUEST_TOO_LARGE]: { code: 413, reason: 'RequestEntityTooLarge' },
  [ErrorCodes.INVALID_OBJECT]: { code: 422, reason: 'Invalid' },
  [ErrorCodes.TOO_MANY_WATCHERS]: { code: 429, reason: 'TooManyRequests' },
};

export function newStatus(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details !== undefined) status.details = details;
  return status;
}

/** The Status for any error; unknown errors become 500 InternalError with their message. */
export function statusFromError(err: unknown): Status {
  if (!(err instanceof WatchCacheError)) {
    return newStatus(500, 'InternalError', err instanceof Error ? err.message : String(err));
  }
  const { code, reason } = byCode[err.code] ?? { code: 500, reason: 'InternalError' as const };
  const details: StatusDetails = {};
  if (err.details.retryAfterSeconds !== undefined) details.retryAfterSeconds = err.details.retryAfterSeconds;
  if (err.code === ErrorCodes.TOO_LARGE_RESOURCE_VERSION) {
    details.causes = [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }];
  }
  return newStatus(code, reason, err.message, Object.keys(details).length > 0 ? details : undefined);
}

/**
 * The Status a watch ends with when it cannot be served. The same as statusFromError, except for a
 * resourceVersion the store has not reached: kube-apiserver answers LIST and GET with 504 "Too
 * large resource version", but a watch from such an RV (after an embedded-store restart, which
 * counts revisions from 1 again) must make every client relist, and @kubernetes/client-node's
 * informer (cache.ts, ListWatch.watchHandler) drops its resourceVersion only on 410: on a 504 it
 * re-watches from the same RV until the new store passes it, then silently misses what came
 * before. So the watch gets 410 Expired with the "Too large" message and cause; client-go treats
 * it as expired, its relist at that RV gets the 504, and it relists from the store.
 */
export function watchStatusFromError(err: unknown): Status {
  const status = statusFromError(err);
  if (err instanceof WatchCacheError && err.code === ErrorCodes.TOO_LARGE_RESOURCE_VERSION) {
    status.code = 410;
    status.reason = 'Expired';
  }
  return status;
}
