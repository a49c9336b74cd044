/**
 * What the cache keeps per object: the stored JSON with `metadata.resourceVersion` set to the
 * key's revision (the store never holds it; spliced into the bytes, not re-encoded), and the
 * attributes every filter needs (labels, selectable fields, trigger value), computed once per
 * object version so LIST, initial events and watch filters never parse again.
 */
import { ErrorCodes, WatchCacheError } from '../errors.js';
import { AttributeReader, type Attributes } from '../select/predicate.js';
import { addedFrameObject, jsonAddedFrame } from '../encode/json-frame.js';
import { parseJson, spliceResourceVersion, stampResourceVersion } from '../encode/json-object.js';
import type { KubeObject } from '../kube-object.js';
import { AttributeCodec } from '../ring/attributes.js';
import { triggerHash } from '../ring/trigger-hash.js';

/** How the cache reads one resource's objects. */
export interface ResourceSchema {
  /**
   * Field paths a field selector may use, e.g. `spec.nodeName`; `metadata.name` and
   * `metadata.namespace` are always selectable.
   */
  selectableFields?: readonly string[];
  /**
   * The index trigger, e.g. `spec.nodeName` for pods: an event reaches only the watchers pinned
   * to its new or previous value (plus the watchers with no value). Must be selectable.
   */
  trigger?: string;
  /** Kind and apiVersion of the empty object a BOOKMARK carries, e.g. `{kind: 'Pod', apiVersion: 'v1'}`. */
  kind?: string;
  apiVersion?: string;
}

export interface CachedObject extends Attributes {
  readonly key: string;
  readonly revision: number;
  /** The object as JSON, `metadata.resourceVersion` included: a view into `addedFrame`. */
  readonly bytes: Uint8Array;
  /**
   * The object's ADDED watch frame (`{"type":"ADDED","object":…}\n`), encoded with it: initial
   * events of every watcher share it, and LIST items are views into it, so neither copies.
   */
  readonly addedFrame: Uint8Array;
  /** The trigger field's value; undefined when the resource has no trigger. */
  readonly trigger: string | undefined;
  /** triggerHash(trigger), 0 when there is none: what ring records carry. */
  readonly triggerHash: number;
  /** The attributes as a ring record's attribute section (ring/attributes.ts), encoded once per version. */
  readonly attributeBytes: Uint8Array;
}

export class ObjectCodec {
  readonly attributes: AttributeReader;
  readonly trigger: string | undefined;
  readonly #sections: AttributeCodec;

  constructor(schema: ResourceSchema = {}) {
    const fields = [...(schema.selectableFields ?? [])];
    if (schema.trigger !== undefined) fields.push(schema.trigger);
    this.attributes = new AttributeReader(fields);
    this.#sections = new AttributeCodec(this.attributes.fields);
    this.trigger = schema.trigger;
  }

  /** Parse a stored value; throws WC_ERR_INVALID when it is not a JSON object. */
  parse(key: string, value: Uint8Array): KubeObject {
    let object: unknown;
    try {
      object = parseJson(value);
    } catch (err) {
      throw new WatchCacheError(ErrorCodes.INVALID, `stored object ${key} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      throw new WatchCacheError(ErrorCodes.INVALID, `stored object ${key} is not a JSON object`);
    }
    return object as KubeObject;
  }

  /** The cache's form of the stored `value` at `revision`: parsed once (WC_ERR_INVALID when it is not a JSON object), never re-encoded. */
  decode(key: string, value: Uint8Array, revision: number): CachedObject {
    return this.cache(key, this.parse(key, value), revision, value);
  }

  /**
   * The cache's form of `object` at `revision`, its JSON written once into its ADDED frame
   * (encode/json-frame.ts, jsonAddedFrame): given `value`, the bytes `object` was parsed from,
   * the resourceVersion is spliced into them; otherwise, or when they cannot be spliced,
   * `object.metadata.resourceVersion` is set in place and it is re-encoded.
   */
  cache(key: string, object: KubeObject, revision: number, value?: Uint8Array): CachedObject {
    const attributes = this.attributes.read(object);
    const trigger = this.trigger === undefined ? undefined : attributes.fields[this.trigger]!;
    const addedFrame = jsonAddedFrame(object, revision, value);
    return {
      ...attributes,
      key,
      revision,
      bytes: addedFrameObject(addedFrame),
      addedFrame,
      trigger,
      triggerHash: trigger === undefined ? 0 : triggerHash(trigger),
      attributeBytes: this.#sections.encode(attributes),
    };
  }

  /** `object` as JSON bytes with `metadata.resourceVersion` = `revision` (set in place). */
  stamp(object: KubeObject, revision: number): Uint8Array {
    return Buffer.from(JSON.stringify(stampResourceVersion(object, revision)), 'utf8');
  }

  /** The object of a cached entry, re-stamped at another revision (a DELETED carries the deletion RV). */
  restamp(cached: CachedObject, revision: number): Uint8Array {
    return spliceResourceVersion(cached.bytes, revision) ?? this.stamp(this.parse(cached.key, cached.bytes), revision);
  }
}
