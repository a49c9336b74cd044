/**
 * Errors of the HTTP front. They are WatchCacheErrors (stable codes, the one code → HTTP table in
 * status.ts) that also carry the Status `details` Kubernetes clients read: the object's name and
 * kind on NotFound/AlreadyExists/Conflict (kubectl prints them), the field causes of Invalid.
 */
import { ErrorCodes, WatchCacheError, type ErrorCode, type ErrorDetails } from '../errors.js';

/** 400 Bad Request carries no details: the one constructor in errors.ts serves the server too. */
export { badRequest } from '../errors.js';
import type { StatusCause, StatusDetails } from '../status.js';

export class ApiError extends WatchCacheError {
  readonly statusDetails: StatusDetails | undefined;
  /** Response headers the answer needs (Allow on 405, WWW-Authenticate on 401). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: ErrorCode, message: string, statusDetails?: StatusDetails, details: ErrorDetails = {}, headers?: Record<string, string>) {
    super(code, message, details);
    this.name = 'ApiError';
    this.statusDetails = statusDetails;
    this.headers = headers;
  }
}

/** What names an object in messages: `pods "web"`, as kube-apiserver words them. */
export interface ObjectRef {
  /** The resource (plural), e.g. `pods`. */
  resource: string;
  /** The API group; "" for core. */
  group: string;
  name: string;
}

function qualified(ref: ObjectRef): string {
  return ref.group === '' ? ref.resource : `${ref.resource}.${ref.group}`;
}

function refDetails(ref: ObjectRef): StatusDetails {
  const details: StatusDetails = { name: ref.name };
  if (ref.group !== '') details.group = ref.group;
  details.kind = ref.resource;
  return details;
}

export function notFound(ref: ObjectRef): ApiError {
  return new ApiError(ErrorCodes.NOT_FOUND, `${qualified(ref)} "${ref.name}" not found`, refDetails(ref));
}

export function alreadyExists(ref: ObjectRef): ApiError {
  return new ApiError(ErrorCodes.ALREADY_EXISTS, `${qualified(ref)} "${ref.name}" already exists`, refDetails(ref));
}

export function conflict(ref: ObjectRef, why: string): ApiError {
  return new ApiError(ErrorCodes.CONFLICT, `Operation cannot be fulfilled on ${qualified(ref)} "${ref.name}": ${why}`, refDetails(ref));
}

export const MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

/**
 * 422 Invalid with one cause per offending field, worded as kube-apiserver's field errors: the
 * message names the group-qualified kind (`Widget.example.com "w" is invalid: ...`) and lists
 * each distinct error once, as Go's ErrorList.ToAggregate.
 */
export function invalidObject(kind: string, ref: ObjectRef, causes: StatusCause[]): ApiError {
  const errors = [...new Set(causes.map((c) => `${c.field}: ${c.message}`))];
  const list = errors.join(', ');
  const qualifiedKind = ref.group === '' ? kind : `${kind}.${ref.group}`;
  const message = `${qualifiedKind} "${ref.name}" is invalid: ${errors.length > 1 ? `[${list}]` : list}`;
  return new ApiError(ErrorCodes.INVALID_OBJECT, message, { ...refDetails(ref), kind, causes });
}

export function pathNotFound(): ApiError {
  return new ApiError(ErrorCodes.NOT_FOUND, 'the server could not find the requested resource');
}

export function methodNotAllowed(method: string, allow: string): ApiError {
  return new ApiError(
    ErrorCodes.METHOD_NOT_ALLOWED,
    `the server does not allow this method on the requested resource: ${method}`,
    undefined,
    {},
    { Allow: allow },
  );
}

export function unsupportedMediaType(got: string, accepted: readonly string[]): ApiError {
  return new ApiError(
    ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
    `the body of the request was in an unknown format (${JSON.stringify(got)}) - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function notAcceptable(accepted: readonly string[]): ApiError {
  return new ApiError(ErrorCodes.NOT_ACCEPTABLE, `only the following media types are accepted: ${accepted.join(', ')}`);
}

export function requestTooLarge(limit: number): ApiError {
  return new ApiError(ErrorCodes.REQUEST_TOO_LARGE, `the request body is larger than the limit of ${limit} bytes`);
}

export function unauthorized(): ApiError {
  return new ApiError(ErrorCodes.UNAUTHORIZED, 'Unauthorized', undefined, {}, { 'WWW-Authenticate': 'Bearer realm="watchcache"' });
}

export function forbidden(user: string, verb: string, resource: string, namespace: string | undefined, why: string): ApiError {
  const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  return new ApiError(
    ErrorCodes.FORBIDDEN,
    `${resource} is forbidden: User "${user}" cannot ${verb} resource "${resource}" ${scope}: ${why}`,
    { kind: resource },
  );
}

export function tooManyWatchers(limit: number, retryAfterSeconds: number): ApiError {
  return new ApiError(
    ErrorCodes.TOO_MANY_WATCHERS,
    `too many watches: the server serves at most ${limit}; please try again later`,
    { retryAfterSeconds },
    { retryAfterSeconds },
  );
}
