/**
 * The ring record a dispatcher is looking at, in the forms its watchers need: the attributes
 * their predicates read (object and previous object), and one frame per event type and encoding,
 * shared by every watcher that receives it. Each form is computed at most once per record and only
 * when a watcher asks. Attributes come from the record's attribute sections, not from its JSON:
 * the object is parsed only for a codec that takes decoded objects (msgpack, protobuf, table),
 * and a JSON watcher's frames are made of the record's bytes (a DELETED rewritten from a MODIFIED
 * gets the previous object's bytes with the record's RV spliced in).
 */
import type { EventObject, FrameCodec, WatchEventType } from '../encode/codec.js';
import { decodeJsonObject, spliceResourceVersion, stampResourceVersion } from '../encode/json-object.js';
import { AttributeCodec } from '../ring/attributes.js';
import { RecordKind } from '../ring/layout.js';
import type { RingRecord } from '../ring/reader.js';
import type { AttributeReader, Attributes } from '../select/predicate.js';

export class CurrentRecord {
  readonly #sections: AttributeCodec;
  #record: RingRecord | undefined;
  #object: Record<string, unknown> | undefined;
  #attrs: Attributes | undefined;
  #prev: Record<string, unknown> | undefined;
  #prevAttrs: Attributes | undefined;
  /** The previous object stamped at the record's RV, as JSON: what a DELETED rewritten from a MODIFIED carries. */
  #deletedJson: Uint8Array | undefined;
  /** Frames of this record by encoding, then event type; the maps outlive records (emptied on reset). */
  readonly #frames = new Map<string, Map<WatchEventType, Uint8Array>>();

  /** The record's object, as a codec takes it. */
  readonly #current: EventObject = {
    json: () => this.#record!.object(),
    decoded: () => (this.#object ??= decodeJsonObject(this.#record!.object())),
  };

  /** The previous object at the record's RV: a MODIFIED that stopped matching is a DELETED of it. */
  readonly #deleted: EventObject = {
    json: () => {
      const record = this.#record!;
      return (this.#deletedJson ??= spliceResourceVersion(record.prevObject(), record.rv) ?? Buffer.from(JSON.stringify(this.#deleted.decoded())));
    },
    decoded: () => (this.#prev ??= stampResourceVersion(decodeJsonObject(this.#record!.prevObject()), this.#record!.rv)),
  };

  /** `attributes`: the resource's reader, whose fields the cache's attribute sections carry, in its order. */
  constructor(attributes: AttributeReader) {
    this.#sections = new AttributeCodec(attributes.fields);
  }

  /** Look at `record` now, forgetting the forms of the last one. */
  reset(record: RingRecord): void {
    this.#record = record;
    this.#object = undefined;
    this.#attrs = undefined;
    this.#prev = undefined;
    this.#prevAttrs = undefined;
    this.#deletedJson = undefined;
    // Frames handed out live on in the dispatcher's staging; only the per-record lookup is emptied.
    for (const byType of this.#frames.values()) if (byType.size > 0) byType.clear();
  }

  attrs(): Attributes {
    return (this.#attrs ??= this.#sections.decode(this.#record!.attributes()));
  }

  /** The previous object's attributes; only for a record that carries the previous object. */
  prevAttrs(): Attributes {
    return (this.#prevAttrs ??= this.#sections.decode(this.#record!.prevAttributes()));
  }

  /** The frame of a `type` event in `codec`'s encoding, encoded once per record. */
  frame(type: WatchEventType, codec: FrameCodec): Uint8Array {
    let byType = this.#frames.get(codec.encoding);
    if (byType === undefined) this.#frames.set(codec.encoding, (byType = new Map()));
    let frame = byType.get(type);
    if (frame !== undefined) return frame;
    frame = codec.event(type, type === 'DELETED' && this.#record!.kind === RecordKind.MODIFIED ? this.#deleted : this.#current);
    byType.set(type, frame);
    return frame;
  }
}
