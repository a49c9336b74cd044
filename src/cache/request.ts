/**
 * Request options as Kubernetes clients send them (strings, as in a query string), checked once
 * with the API server's validation messages, and turned into what the cache works with.
 */
import { badRequest } from '../errors.js';
import { parseFieldSelector, requiredFieldValue, type FieldSelector } from '../select/field-selector.js';
import { parseLabelSelector, type LabelSelector } from '../select/label-selector.js';
import type { Predicate } from '../select/predicate.js';
import { parseShardSelector } from '../select/shard-selector.js';

export type ResourceVersionMatch = 'NotOlderThan' | 'Exact';

/** Options shared by LIST, GET and WATCH. */
export interface ReadOptions {
  /** "" or unset: most recent (consistent); "0": any; "N": not older than N (or exactly, see resourceVersionMatch). */
  resourceVersion?: string;
  resourceVersionMatch?: ResourceVersionMatch | '';
  labelSelector?: string;
  fieldSelector?: string;
  /** `shardRange(object.metadata.uid, '0x…', '0x…') || …` (KEP-5866); LIST and WATCH only. */
  shardSelector?: string;
  /** Only objects of this namespace. */
  namespace?: string;
  /** Only the object of this name. */
  name?: string;
  signal?: AbortSignal;
}

export interface WatchOptions extends ReadOptions {
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  /** End the watch after this many seconds. */
  timeoutSeconds?: number;
}

export interface ListOptions extends ReadOptions {
  limit?: number;
  continue?: string;
}

/** A parsed resourceVersion: undefined (unset or ""), 0, or a revision. */
export type ParsedRV = number | undefined;

export function parseResourceVersion(value: string | undefined): ParsedRV {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badRequest(`invalid resource version: ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function parseMatch(value: string | undefined): ResourceVersionMatch | undefined {
  if (value === undefined || value === '') return undefined;
  if (value !== 'NotOlderThan' && value !== 'Exact') {
    throw badRequest(`resourceVersionMatch: Unsupported value: ${JSON.stringify(value)}: supported values: "Exact", "NotOlderThan"`);
  }
  return value;
}

/** The predicate and the trigger value a request pins (if the resource has a trigger). */
export function buildPredicate(
  options: ReadOptions,
  selectableFields: readonly string[],
  trigger: string | undefined,
): { predicate: Predicate; triggerValue: string | undefined } {
  const label: LabelSelector = parseLabelSelector(options.labelSelector ?? '');
  const field: FieldSelector = parseFieldSelector(options.fieldSelector ?? '', selectableFields);
  const shard = parseShardSelector(options.shardSelector ?? '');
  const predicate: Predicate = {
    label,
    field,
    ...(shard ? { shard } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.name ? { name: options.name } : {}),
  };
  return { predicate, triggerValue: trigger === undefined ? undefined : requiredFieldValue(field, trigger) };
}

/** kube-apiserver's validation of watch options (apimachinery validateWatchOptions). */
export function validateWatch(options: WatchOptions, match: ResourceVersionMatch | undefined): void {
  if (options.sendInitialEvents !== undefined) {
    if (match !== 'NotOlderThan') {
      throw badRequest('resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    }
  } else if (match !== undefined) {
    throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
  }
  const timeout = options.timeoutSeconds;
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)) {
    throw badRequest(`timeoutSeconds must be a non-negative number, got ${timeout}`);
  }
}

/** kube-apiserver's validation of list options (storage.ValidateListOptions and friends). */
export function validateList(options: ListOptions, rv: ParsedRV, match: ResourceVersionMatch | undefined): void {
  const limit = options.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw badRequest(`limit must be a non-negative integer, got ${limit}`);
  }
  if (options.continue !== undefined && options.continue !== '') {
    if (rv !== undefined && rv !== 0) throw badRequest('specifying resource version is not allowed when using continue');
    if (match !== undefined) throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided');
  }
  if (match === 'Exact' && (rv === undefined || rv === 0)) {
    throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch "Exact" is forbidden for resourceVersion "0" or unset');
  }
  if (match === 'NotOlderThan' && rv === undefined) {
    throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
  }
}
