/**
 * The ring record a dispatcher is looking at, in the forms its watchers need: the attributes
 * their predicates read (object and previous object), and one frame per event type and encoding,
 * shared by every watcher that receives it. Each form is computed at most once per record and only
 * when a watcher asks: a record no watcher's trigger wants is never decoded at all.
 */
import type { EventObject, FrameCodec, WatchEventType } from '../encode/codec.js';
import { decodeJsonObject, stampResourceVersion } from '../encode/json-object.js';
import { RecordKind } from '../ring/layout.js';
import type { RingRecord } from '../ring/reader.js';
import type { AttributeReader, Attributes } from '../select/predicate.js';

export class CurrentRecord {
  readonly #attributes: AttributeReader;
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
    decoded: () => {
      // A watcher that selects everything did not need the object decoded to match it.
      this.attrs();
      return this.#object!;
    },
  };

  /** The previous object at the record's RV: a MODIFIED that stopped matching is a DELETED of it. */
  readonly #deleted: EventObject = {
    json: () => (this.#deletedJson ??= Buffer.from(JSON.stringify(this.#deleted.decoded()))),
    decoded: () => {
      this.prevAttrs();
      return stampResourceVersion(this.#prev!, this.#record!.rv);
    },
  };

  constructor(attributes: AttributeReader) {
    this.#attributes = attributes;
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
    if (this.#attrs === undefined) {
      this.#object = decodeJsonObject(this.#record!.object());
      this.#attrs = this.#attributes.read(this.#object);
    }
    return this.#attrs;
  }

  prevAttrs(): Attributes {
    if (this.#prevAttrs === undefined) {
      this.#prev = decodeJsonObject(this.#record!.prevObject());
      this.#prevAttrs = this.#attributes.read(this.#prev);
    }
    return this.#prevAttrs;
  }

  /** The frame of a `type` event in `codec`'s encoding, encoded once per record. */
  frame(type: WatchEventType, codec: FrameCodec): Uint8Array {
    let byType = this.#frames.get(codec.encoding);
    if (byType === undefined) this.#frames.set(codec.encoding, (byType = new Map()));
    let frame = byType.get(type);
    if (frame !== undefined) return frame;
    // A predicate that matched decoded the object (and, for a DELETED from a MODIFIED, the
    // previous object) already: a codec that takes decoded objects reuses it.
    frame = codec.event(type, type === 'DELETED' && this.#record!.kind === RecordKind.MODIFIED ? this.#deleted : this.#current);
    byType.set(type, frame);
    return frame;
  }
}
