/**
 * What one watcher selects: its scope (namespace, name) and its label and field selectors, as
 * plain data that crosses to a worker thread unchanged. `rewrite` is kube-apiserver's
 * convertToWatchEvent: an object that starts matching arrives as ADDED, one that stops matching
 * as DELETED, so every watcher sees a consistent history of its own selection.
 */
import { BASE_SELECTABLE_FIELDS, fieldExtractor, isEverythingFields, matchesFields, type FieldExtractor, type FieldSelector } from './field-selector.js';
import { isEverythingLabels, matchesLabels, type LabelSelector } from './label-selector.js';
import { matchesShard, shardHashes, type ShardHashes, type ShardSelector } from './shard-selector.js';

export interface Predicate {
  readonly label: LabelSelector;
  readonly field: FieldSelector;
  /** Only objects of this namespace ("" or unset: every namespace). */
  readonly namespace?: string;
  /** Only the object of this name. */
  readonly name?: string;
  /** Only the objects whose hashed uid or namespace falls in one of its ranges (shardSelector). */
  readonly shard?: ShardSelector;
}

/** The attributes of one object version that predicates look at. */
export interface Attributes {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, string>>;
  /**
   * The FNV-1a hashes of metadata.uid and metadata.namespace, computed here once per object
   * version so shard-ranged watchers compare numbers; a ring record could carry them as they are.
   */
  readonly shard: ShardHashes;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Reads the Attributes of decoded objects for one resource: its selectable fields (always
 * metadata.name and metadata.namespace) are extracted once per object version.
 */
export class AttributeReader {
  readonly fields: readonly string[];
  readonly #extract: FieldExtractor;

  constructor(selectableFields: readonly string[]) {
    this.fields = [...new Set([...BASE_SELECTABLE_FIELDS, ...selectableFields])];
    this.#extract = fieldExtractor(this.fields);
  }

  read(object: unknown): Attributes {
    const metadata = (object as { metadata?: unknown } | null)?.metadata;
    const meta = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
    return {
      namespace,
      name: typeof meta.name === 'string' ? meta.name : '',
      labels: stringRecord(meta.labels),
      fields: this.#extract(object),
      shard: shardHashes(typeof meta.uid === 'string' ? meta.uid : '', namespace),
    };
  }
}

function stringRecord(value: unknown): Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null) return NO_LABELS;
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') continue;
    (out ??= Object.create(null) as Record<string, string>)[k] = v;
  }
  return out ?? NO_LABELS;
}

/** Whether a predicate selects every object, so that no object need be decoded to decide. */
export function selectsEverything(predicate: Predicate): boolean {
  return (
    (predicate.namespace === undefined || predicate.namespace === '') &&
    (predicate.name === undefined || predicate.name === '') &&
    isEverythingLabels(predicate.label) &&
    isEverythingFields(predicate.field) &&
    predicate.shard === undefined
  );
}

export function matches(predicate: Predicate, object: Attributes): boolean {
  if (predicate.namespace !== undefined && predicate.namespace !== '' && predicate.namespace !== object.namespace) return false;
  if (predicate.name !== undefined && predicate.name !== '' && predicate.name !== object.name) return false;
  if (predicate.shard !== undefined && !matchesShard(predicate.shard, object.shard)) return false;
  return matchesLabels(predicate.label, object.labels) && matchesFields(predicate.field, object.fields);
}

export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * The event a watcher sees for a stored change, given whether the new object (`current`) and
 * the previous one (`previous`) match its predicate; null when it sees nothing.
 */
export function rewrite(stored: ObjectEventType, current: boolean, previous: boolean): ObjectEventType | null {
  switch (stored) {
    case 'ADDED':
      return current ? 'ADDED' : null;
    case 'DELETED':
      return previous ? 'DELETED' : null;
    case 'MODIFIED':
      if (current) return previous ? 'MODIFIED' : 'ADDED';
      return previous ? 'DELETED' : null;
  }
}
