/**
 * Query parameters → cache request options. Only the syntax is checked here (booleans, integers);
 * the cache validates the meaning (resourceVersion, resourceVersionMatch, selectors, limit with
 * continue) with kube-apiserver's messages. Unknown parameters (`pretty`, `fieldManager`, ...)
 * are ignored, as kube-apiserver does; a repeated parameter counts with its first value, as Go's
 * url.Values.Get.
 */
import type { ListOptions, ResourceVersionMatch, WatchOptions } from '../cache/request.js';
import { badRequest } from './api-error.js';

/** strconv.ParseBool, which is what Kubernetes uses for boolean query parameters. */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

export function queryBool(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (value === '') return false;
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw badRequest(`${name}: invalid boolean value ${JSON.stringify(value.slice(0, 100))}`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An int64 parameter, as kube-apiserver parses them (strconv.ParseInt(v, 10, 64)). Values past
 * what a double holds exactly are clamped to ±Number.MAX_SAFE_INTEGER: no limit or timeout that
 * large can be told apart from it.
 */
function queryInt(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  const bad = (): Error => badRequest(`${name}: invalid integer value ${JSON.stringify(value.slice(0, 100))}`);
  // Bounded before BigInt sees it: int64 has at most 19 digits, leading zeros aside.
  if (!/^[-+]?[0-9]+$/.test(value) || value.replace(/^[-+]?0*/, '').length > 19) throw bad();
  const n = BigInt(value);
  if (n < INT64_MIN || n > INT64_MAX) throw bad();
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (n < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(n);
}

type ReadParams = 'resourceVersion' | 'resourceVersionMatch' | 'labelSelector' | 'fieldSelector' | 'shardSelector';

function readOptions(params: URLSearchParams): Pick<ListOptions, ReadParams> {
  const out: Pick<ListOptions, ReadParams> = {};
  const rv = params.get('resourceVersion');
  if (rv !== null) out.resourceVersion = rv;
  const match = params.get('resourceVersionMatch');
  // The cache checks the value; the cast only carries it there.
  if (match !== null) out.resourceVersionMatch = match as ResourceVersionMatch;
  const label = params.get('labelSelector');
  if (label !== null) out.labelSelector = label;
  const field = params.get('fieldSelector');
  if (field !== null) out.fieldSelector = field;
  const shard = params.get('shardSelector');
  if (shard !== null) out.shardSelector = shard;
  return out;
}

export function listOptions(params: URLSearchParams): ListOptions {
  const out: ListOptions = readOptions(params);
  const limit = queryInt(params, 'limit');
  if (limit !== undefined) out.limit = limit;
  const token = params.get('continue');
  if (token !== null) out.continue = token;
  return out;
}

export function watchOptions(params: URLSearchParams): WatchOptions {
  const out: WatchOptions = readOptions(params);
  const bookmarks = queryBool(params, 'allowWatchBookmarks');
  if (bookmarks !== undefined) out.allowWatchBookmarks = bookmarks;
  // Only an explicit value counts: unset and "" differ in kube-apiserver's watch table.
  if (params.get('sendInitialEvents') !== null && params.get('sendInitialEvents') !== '') {
    out.sendInitialEvents = queryBool(params, 'sendInitialEvents')!;
  }
  const timeout = queryInt(params, 'timeoutSeconds');
  if (timeout !== undefined) {
    if (timeout < 0) throw badRequest(`timeoutSeconds must be a non-negative integer, got ${timeout}`);
    out.timeoutSeconds = timeout;
  }
  return out;
}

export function getResourceVersion(params: URLSearchParams): string | undefined {
  return params.get('resourceVersion') ?? undefined;
}
