/**
 * The ring's single producer: the watch cache on the main thread. It appends records, publishes
 * them in batches and never waits for a reader; room for a new record is made by evicting the
 * oldest records from the window, or by growing the ring by a segment when the owner's policy
 * says so. See layout.ts for the format, the segments and the ordering rules.
 *
 * Why one file of ~560 lines: appending, evicting and growing or dropping segments are one
 * sequence of Atomics stores whose order is the protocol (layout.ts); it stays readable in one
 * place, top to bottom.
 */
import { ErrorCodes, invalidArgument, WatchCacheError } from '../errors.js';
import {
  CONTROL_BYTES,
  Ctl,
  LAYOUT_VERSION,
  MAX_CAPACITY,
  MAX_SEGMENTS,
  MIN_SEGMENT_BYTES,
  PAD_KIND,
  RECORD_HEADER_BYTES,
  RING_MAGIC,
  Rec,
  RecordKind,
  SEG_TABLE,
  distance,
  isPowerOfTwo,
  maxRecordBytes,
  recordBytes,
} from './layout.js';

/** One segment of record storage, as handed to readers. `id` is never reused within a ring. */
export interface RingSegment {
  readonly id: number;
  readonly data: SharedArrayBuffer;
}

/**
 * The shared buffers of a ring; structured-clone safe, so a worker can attach to them. The
 * producer's own object is live: `segments` always lists the current segments, so a reader
 * attached later (a replaced worker) gets the set of that moment.
 */
export interface RingBuffers {
  readonly control: SharedArrayBuffer;
  readonly segments: readonly RingSegment[];
}

/**
 * Called once per record that leaves the window, oldest first, before its bytes are reused.
 * After it, a watch that needs events newer than `rv` can no longer be fully served from the
 * ring unless the start RV is at least `rv` (several records may share an rv). It runs inside
 * append() (or dropOldestSegment()), after the window moved and before the new bytes are written:
 * it must not call back into the producer, and should not throw (if it does, append() throws
 * without appending, the records stay evicted and the rest of them are not reported; the ring
 * stays consistent).
 */
export type EvictListener = (rv: number, seq: number, position: number) => void;

/**
 * Asked when the write position enters a new segment number while the ring has fewer than
 * `maxSegments` segments: true allocates a new segment; false recycles the oldest one, whose
 * records (all before position `oldestEnd`) are then overwritten as the new segment fills.
 * Must not call back into the producer.
 */
export type GrowPolicy = (oldestEnd: number) => boolean;

/**
 * Told the new set of segments whenever it changes (a segment added or dropped), before the
 * producer writes into a new one. Readers on other threads must be sent it (RingReader.attach).
 * The array is a fresh snapshot.
 */
export type SegmentsListener = (segments: readonly RingSegment[]) => void;

export interface RingProducerOptions {
  /** Bytes of one segment: a power of two from MIN_SEGMENT_BYTES (256) to MAX_CAPACITY (2^30). */
  segmentBytes: number;
  /** Segments allocated at the start, and the fewest the ring keeps. Default 1. */
  minSegments?: number;
  /** The most segments (the memory cap is maxSegments * segmentBytes). Default minSegments. */
  maxSegments?: number;
  /** Whether to grow rather than recycle; default: never grow. */
  shouldGrow?: GrowPolicy;
  onSegments?: SegmentsListener;
  /**
   * Position of the first record: a multiple of 8 below 2^32. Default 0. Starting near 2^32
   * exercises the position wrap-around in tests.
   */
  initialPosition?: number;
  /** Sequence number of the first record: a uint32. Default 0. */
  initialSeq?: number;
  onEvict?: EvictListener;
}

/** A segment as the producer holds it. */
interface Segment extends RingSegment {
  /** A Buffer over the shared data: utf8 writes and copies without temporary arrays. */
  readonly bytes: Buffer;
  readonly view: DataView;
}

/** One record to append. Lengths are taken from the arguments; nothing is retained. */
export interface RingRecordInput {
  kind: RecordKind;
  /** resourceVersion: a non-negative safe integer. */
  rv: number;
  /** The object's storage key; omitted for PROGRESS. */
  key?: string;
  /** The new object's bytes (for DELETED, the last state); omitted for PROGRESS. */
  object?: Uint8Array;
  /** The previous object's bytes (MODIFIED, DELETED), when known. */
  prevObject?: Uint8Array;
  /** The new object's attribute section (ring/attributes.ts); only with `object`. */
  attributes?: Uint8Array;
  /** The previous object's attribute section; only with `prevObject`. */
  prevAttributes?: Uint8Array;
  /** triggerHash() of the new object's trigger value; 0 (default) = none. */
  triggerHash?: number;
  /** triggerHash() of the previous object's trigger value; 0 (default) = none. */
  prevTriggerHash?: number;
  /** RecordFlags bits (payload encoding); default 0 (JSON). */
  flags?: number;
}

const UINT32_LIMIT = 2 ** 32;

export class RingProducer {
  readonly #buffers: { control: SharedArrayBuffer; segments: RingSegment[] };
  /** Bytes of one segment. */
  readonly segmentBytes: number;
  /** The largest record accepted, header and padding included (segmentBytes / 4). */
  readonly maxRecordBytes: number;
  readonly minSegments: number;
  readonly maxSegments: number;

  readonly #ctl: Int32Array;
  readonly #shift: number;
  readonly #mask: number;
  /** Segment numbers are positions >>> shift, modulo 2^(32 - shift). */
  readonly #numberMask: number;
  readonly #onEvict: EvictListener | undefined;
  readonly #shouldGrow: GrowPolicy | undefined;
  readonly #onSegments: SegmentsListener | undefined;

  /** The mapped segments, by segment number: #order[i] holds number #firstNumber + i. */
  #order: Segment[] = [];
  #firstNumber = 0;
  /** Mirror of SEG_TABLE: the segment of each slot (also for numbers being recycled). */
  readonly #slots: Array<Segment | undefined> = new Array<Segment | undefined>(MAX_SEGMENTS);
  #nextId = 1;

  /** Window start; mirrors OLDEST_POS (ahead of it only while an eviction is in progress). */
  #oldest: number;
  /** Mirrors WRITE_POS. */
  #published: number;
  /** End of the last appended record, published or not. */
  #appended: number;
  #nextSeq: number;
  #lastEvictedRv: number | undefined = undefined;

  constructor(options: RingProducerOptions) {
    const { segmentBytes } = options;
    if (!isPowerOfTwo(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_CAPACITY) {
      throw invalidArgument(`ring segmentBytes must be a power of two in [${MIN_SEGMENT_BYTES}, ${MAX_CAPACITY}], got ${segmentBytes}`);
    }
    const minSegments = options.minSegments ?? 1;
    const maxSegments = options.maxSegments ?? minSegments;
    const limit = Math.min(MAX_SEGMENTS, MAX_CAPACITY / segmentBytes);
    if (!Number.isInteger(minSegments) || minSegments < 1 || !Number.isInteger(maxSegments) || maxSegments < minSegments || maxSegments > limit) {
      throw invalidArgument(
        `ring segments must satisfy 1 <= minSegments <= maxSegments <= ${limit} (at most ${MAX_SEGMENTS} and ${MAX_CAPACITY} bytes), ` +
          `got ${minSegments} and ${maxSegments}`,
      );
    }
    const start = options.initialPosition ?? 0;
    if (!Number.isInteger(start) || start < 0 || start >= UINT32_LIMIT || start % 8 !== 0) {
      throw invalidArgument(`ring initialPosition must be a multiple of 8 below 2^32, got ${start}`);
    }
    const seq = options.initialSeq ?? 0;
    if (!Number.isInteger(seq) || seq < 0 || seq >= UINT32_LIMIT) {
      throw invalidArgument(`ring initialSeq must be a uint32, got ${seq}`);
    }

    this.segmentBytes = segmentBytes;
    this.maxRecordBytes = maxRecordBytes(segmentBytes);
    this.minSegments = minSegments;
    this.maxSegments = maxSegments;
    this.#shift = Math.log2(segmentBytes);
    this.#mask = segmentBytes - 1;
    this.#numberMask = 2 ** (32 - this.#shift) - 1;
    this.#onEvict = options.onEvict;
    this.#shouldGrow = options.shouldGrow;
    this.#onSegments = options.onSegments;
    this.#oldest = start;
    this.#published = start;
    this.#appended = start;
    this.#nextSeq = seq;

    const control = new SharedArrayBuffer(CONTROL_BYTES);
    this.#ctl = new Int32Array(control);
    this.#buffers = { control, segments: [] };
    for (let i = 0; i < minSegments; i++) this.#order.push(this.#allocate());
    // The write segment is the newest mapped number; the others are spare numbers behind the
    // window, recycled first (their slots are written like any other).
    this.#mapFrom(((start >>> this.#shift) - minSegments + 1) & this.#numberMask);

    // Plain stores suffice for the rest: nobody can see these buffers until they are handed over
    // (postMessage / workerData), and handing over orders everything written before it.
    const ctl = this.#ctl;
    ctl[Ctl.WRITE_POS] = start | 0;
    ctl[Ctl.OLDEST_POS] = start | 0;
    ctl[Ctl.MAGIC] = RING_MAGIC;
    ctl[Ctl.VERSION] = LAYOUT_VERSION;
    ctl[Ctl.SEGMENT_BYTES] = segmentBytes | 0;
    ctl[Ctl.MAX_RECORD_BYTES] = this.maxRecordBytes;
    ctl[Ctl.TABLE_SLOTS] = MAX_SEGMENTS;
  }

  /** The control block and the current segments (a live object; see RingBuffers). */
  get buffers(): RingBuffers {
    return this.#buffers;
  }

  /** Bytes of record storage now: segments * segmentBytes. */
  get capacity(): number {
    return this.#order.length * this.segmentBytes;
  }

  /** Segments mapped now. */
  get segmentCount(): number {
    return this.#order.length;
  }

  /** Position where the oldest mapped segment number ends: dropping it evicts everything before. */
  get oldestSegmentEnd(): number {
    return this.#numberStart(this.#firstNumber + 1);
  }

  /** Window start: the position of the oldest record still readable. */
  get oldestPosition(): number {
    return this.#oldest;
  }

  /** End of the published records (WRITE_POS): readers see everything before it. */
  get writePosition(): number {
    return this.#published;
  }

  /** End of the appended records, including those not yet published. */
  get appendPosition(): number {
    return this.#appended;
  }

  /** Bytes between the window start and the last appended record, PADs included. */
  get bytesInUse(): number {
    return (this.#appended - this.#oldest) >>> 0;
  }

  /** Whether append() has added records that publish() has not made visible yet. */
  get hasUnpublished(): boolean {
    return this.#appended !== this.#published;
  }

  /** The seq the next appended record gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Bumped by every reset(). */
  get epoch(): number {
    // Only this thread writes EPOCH; the atomic read just matches how every other access is made.
    return Atomics.load(this.#ctl, Ctl.EPOCH);
  }

  /** rv of the most recently evicted record since the last reset, if any was evicted. */
  get lastEvictedRv(): number | undefined {
    return this.#lastEvictedRv;
  }

  /** rv of the oldest record in the window (published or not), or undefined when it is empty. */
  oldestRv(): number | undefined {
    let pos = this.#oldest;
    while (pos !== this.#appended) {
      const view = this.#segmentAt(pos).view;
      const off = pos & this.#mask;
      if (view.getUint16(off + Rec.KIND, true) !== PAD_KIND) return view.getFloat64(off + Rec.RV, true);
      pos = (pos + view.getUint32(off + Rec.LENGTH, true)) >>> 0;
    }
    return undefined;
  }

  /**
   * Write a record after the last appended one, without making it visible to readers (see
   * publish()). Returns its position: a reader can start there for as long as the record stays
   * in the window, which is how the cache replays from an RV. Entering a new segment number grows
   * the ring or recycles its oldest segment (see GrowPolicy); evicts the oldest records as
   * needed, reporting each to `onEvict`. Throws WC_ERR_RECORD_TOO_LARGE for a record over
   * `maxRecordBytes`, WC_ERR_INVALID for a malformed one.
   */
  append(record: RingRecordInput): number {
    const kind = record.kind;
    if (!(kind >= RecordKind.ADDED && kind <= RecordKind.PROGRESS && Number.isInteger(kind))) {
      throw invalidArgument(`ring record kind must be 1..4, got ${String(kind)}`);
    }
    const rv = record.rv;
    if (!Number.isSafeInteger(rv) || rv < 0) {
      throw invalidArgument(`ring record rv must be a non-negative safe integer, got ${rv}`);
    }
    const flags = record.flags ?? 0;
    const trigger = record.triggerHash ?? 0;
    const prevTrigger = record.prevTriggerHash ?? 0;
    if ((flags & 0xffff) !== flags) throw invalidArgument(`ring record flags must be a u16, got ${flags}`);
    if (trigger >>> 0 !== trigger || prevTrigger >>> 0 !== prevTrigger) {
      throw invalidArgument(`ring record trigger hashes must be uint32, got ${trigger} / ${prevTrigger}`);
    }

    const key = record.key;
    const object = record.object;
    const prev = record.prevObject;
    const attributes = record.attributes;
    const prevAttributes = record.prevAttributes;
    if ((attributes !== undefined && object === undefined) || (prevAttributes !== undefined && prev === undefined)) {
      throw invalidArgument('ring record attributes need their object (and previous attributes the previous object)');
    }
    const keyLength = key === undefined || key.length === 0 ? 0 : Buffer.byteLength(key, 'utf8');
    const objectLength = object === undefined ? 0 : object.byteLength;
    const prevLength = prev === undefined ? 0 : prev.byteLength;
    const attributesLength = attributes === undefined ? 0 : attributes.byteLength;
    const prevAttributesLength = prevAttributes === undefined ? 0 : prevAttributes.byteLength;
    const need = recordBytes(keyLength, objectLength, prevLength, attributesLength, prevAttributesLength);
    if (need > this.maxRecordBytes) {
      throw new WatchCacheError(
        ErrorCodes.RECORD_TOO_LARGE,
        `ring record of ${need} bytes (key ${keyLength}, object ${objectLength}, prev ${prevLength}, ` +
          `attributes ${attributesLength}, prev attributes ${prevAttributesLength}) ` +
          `exceeds the maximum of ${this.maxRecordBytes} bytes`,
      );
    }

    const segmentBytes = this.segmentBytes;
    let pos = this.#appended;
    const tailOffset = pos & this.#mask;
    const pad = tailOffset + need > segmentBytes ? segmentBytes - tailOffset : 0;
    const end = (pos + pad + need) >>> 0;
    const number = ((pos + pad) >>> 0) >>> this.#shift;
    if (number !== ((this.#firstNumber + this.#order.length - 1) & this.#numberMask)) this.#enterSegment(number);

    // The window can only drop records readers were shown (invariant I6): if this batch alone
    // would outgrow the ring, show what is pending before its oldest part gets evicted.
    if ((end - this.#published) >>> 0 > this.capacity) this.publish();
    this.#makeRoom(end);

    if (pad !== 0) {
      const tail = this.#segmentAt(pos).view;
      tail.setUint32(tailOffset + Rec.LENGTH, pad, true);
      tail.setUint16(tailOffset + Rec.KIND, PAD_KIND, true);
      tail.setUint16(tailOffset + Rec.FLAGS, 0, true);
      pos = (pos + pad) >>> 0;
    }

    const segment = this.#segmentAt(pos);
    const view = segment.view;
    const off = pos & this.#mask;
    const seq = this.#nextSeq;
    view.setUint32(off + Rec.LENGTH, need, true);
    view.setUint16(off + Rec.KIND, kind, true);
    view.setUint16(off + Rec.FLAGS, flags, true);
    view.setUint32(off + Rec.SEQ, seq, true);
    view.setUint32(off + Rec.TRIGGER, trigger, true);
    view.setUint32(off + Rec.PREV_TRIGGER, prevTrigger, true);
    view.setUint32(off + Rec.KEY_LENGTH, keyLength, true);
    view.setUint32(off + Rec.OBJECT_LENGTH, objectLength, true);
    view.setUint32(off + Rec.PREV_OBJECT_LENGTH, prevLength, true);
    view.setFloat64(off + Rec.RV, rv, true);
    view.setUint32(off + Rec.ATTRIBUTES_LENGTH, attributesLength, true);
    view.setUint32(off + Rec.PREV_ATTRIBUTES_LENGTH, prevAttributesLength, true);
    let at = off + RECORD_HEADER_BYTES;
    if (keyLength !== 0) segment.bytes.write(key as string, at, keyLength, 'utf8');
    at += keyLength;
    if (objectLength !== 0) segment.bytes.set(object as Uint8Array, at);
    at += objectLength;
    if (prevLength !== 0) segment.bytes.set(prev as Uint8Array, at);
    at += prevLength;
    if (attributesLength !== 0) segment.bytes.set(attributes as Uint8Array, at);
    at += attributesLength;
    if (prevAttributesLength !== 0) segment.bytes.set(prevAttributes as Uint8Array, at);

    this.#appended = end;
    this.#nextSeq = (seq + 1) >>> 0;
    return pos;
  }

  /**
   * Make every appended record visible to readers and wake the waiting ones. Call once per batch
   * (per upstream watch response or per tick): each call costs two atomic writes and a notify.
   * Returns the new write position; a no-op when nothing is pending.
   */
  publish(): number {
    const end = this.#appended;
    if (end === this.#published) return end;
    this.#published = end;
    const ctl = this.#ctl;
    // Release: readers that load the new WRITE_POS also see the record bytes written before it.
    Atomics.store(ctl, Ctl.WRITE_POS, end | 0);
    // After WRITE_POS, so a reader that read PUB_SEQ before scanning and then waits on it either
    // already saw these records or finds PUB_SEQ changed and returns at once.
    Atomics.add(ctl, Ctl.PUB_SEQ, 1);
    // One wake-up per batch for every reader parked in waitForPublish().
    Atomics.notify(ctl, Ctl.PUB_SEQ);
    return end;
  }

  /**
   * Empty the window (the cache relisted): unpublished records are dropped, the epoch is bumped,
   * and the window restarts at the next segment boundary, strictly after every position handed
   * out so far, so that each of them now reads as lapped. The segments are kept. onEvict is not
   * called. Returns the new start position.
   */
  reset(): number {
    const start = ((this.#appended | this.#mask) + 1) >>> 0;
    const ctl = this.#ctl;
    // First, so that a reader that sees the new window (below) also sees the new epoch.
    Atomics.add(ctl, Ctl.EPOCH, 1);
    // Before WRITE_POS: moving the start first keeps the window from ever looking larger than
    // the ring; a reader seeing oldest ahead of write reads nothing, and every old position lapped.
    Atomics.store(ctl, Ctl.OLDEST_POS, start | 0);
    // Every old number is now behind the window, so the slots may change (I7).
    this.#mapFrom(((start >>> this.#shift) - this.#order.length + 1) & this.#numberMask);
    // The window is now [start, start): empty.
    Atomics.store(ctl, Ctl.WRITE_POS, start | 0);
    // Parked readers must wake to notice the reset instead of sleeping until their timeout.
    Atomics.add(ctl, Ctl.PUB_SEQ, 1);
    // Same wake-up as a publish.
    Atomics.notify(ctl, Ctl.PUB_SEQ);
    this.#oldest = start;
    this.#published = start;
    this.#appended = start;
    this.#lastEvictedRv = undefined;
    return start;
  }

  /**
   * Shrink by one segment: evict every record before the end of the oldest mapped segment number
   * (reporting each to onEvict), unmap that segment and release it (onSegments gets the smaller
   * set). Refused (false) at minSegments, or when the oldest number is the one being written.
   * Publishes pending records first (I6).
   */
  dropOldestSegment(): boolean {
    const count = this.#order.length;
    if (count <= this.minSegments) return false;
    const boundary = this.oldestSegmentEnd;
    // Readers must not be shown less than they were promised (I6).
    if (this.hasUnpublished) this.publish();
    // The write number is newer than the oldest mapped one, so `boundary` is a record boundary
    // at or before the write position; after a reset the window may already start past it.
    if (distance(this.#oldest, boundary) > 0) this.#evictTo(boundary);
    const segment = this.#order.shift()!;
    this.#firstNumber = (this.#firstNumber + 1) & this.#numberMask;
    // Only now: every number it held (this one, and older ones it was recycled from) is wholly
    // behind OLDEST_POS (I7). Clearing them all also lets the segment's memory go.
    for (let slot = 0; slot < MAX_SEGMENTS; slot++) {
      if (this.#slots[slot] !== segment) continue;
      this.#slots[slot] = undefined;
      Atomics.store(this.#ctl, SEG_TABLE + slot, 0);
    }
    this.#buffers.segments = this.#buffers.segments.filter((s) => s.id !== segment.id);
    this.#onSegments?.([...this.#buffers.segments]);
    return true;
  }

  #allocate(): Segment {
    const data = new SharedArrayBuffer(this.segmentBytes);
    const id = this.#nextId++;
    // The shared list holds only what a reader needs (it is structured-cloned to workers).
    this.#buffers.segments = [...this.#buffers.segments, { id, data }];
    return { id, data, bytes: Buffer.from(data), view: new DataView(data) };
  }

  /** Map the segments in order to the numbers from `first` on (constructor and reset). */
  #mapFrom(first: number): void {
    this.#firstNumber = first;
    for (let i = 0; i < this.#order.length; i++) this.#map((first + i) & this.#numberMask, this.#order[i]!);
  }

  #map(number: number, segment: Segment): void {
    const slot = number & (MAX_SEGMENTS - 1);
    this.#slots[slot] = segment;
    Atomics.store(this.#ctl, SEG_TABLE + slot, segment.id);
  }

  /** The first position of segment number `number` (taken modulo the number space). */
  #numberStart(number: number): number {
    return ((number & this.#numberMask) * this.segmentBytes) >>> 0;
  }

  /** The segment holding position `pos`, which must be in the window or being written. */
  #segmentAt(pos: number): Segment {
    return this.#slots[(pos >>> this.#shift) & (MAX_SEGMENTS - 1)]!;
  }

  /** The write position enters segment number `number`: grow, or recycle the oldest segment. */
  #enterSegment(number: number): void {
    let segment: Segment;
    if (this.#order.length < this.maxSegments && this.#shouldGrow?.(this.oldestSegmentEnd) === true) {
      // What is left of a number being recycled shares its segment's bytes with the number being
      // closed (under its padded tail), and the bigger ring would keep both in the window: it
      // goes now, so that no two window positions ever map to the same bytes.
      const recycled = this.#numberStart(this.#firstNumber);
      if (distance(this.#oldest, recycled) > 0) {
        if (distance(this.#published, recycled) > 0) this.publish();
        this.#evictTo(recycled);
      }
      segment = this.#allocate();
      this.#order.push(segment);
      // Before its slot is stored and anything is written into it (I8).
      this.#onSegments?.([...this.#buffers.segments]);
    } else {
      // Its old number stays mapped through the old slot until makeRoom() has evicted it (I7).
      segment = this.#order.shift()!;
      this.#order.push(segment);
      this.#firstNumber = (this.#firstNumber + 1) & this.#numberMask;
    }
    this.#map(number, segment);
  }

  /** Evict whole records from the window start until [start, end) fits in the ring. */
  #makeRoom(end: number): void {
    const capacity = this.capacity;
    if ((end - this.#oldest) >>> 0 <= capacity) return;
    const mask = this.#mask;
    let oldest = this.#oldest;
    do {
      oldest = (oldest + this.#segmentAt(oldest).view.getUint32((oldest & mask) + Rec.LENGTH, true)) >>> 0;
    } while ((end - oldest) >>> 0 > capacity);
    this.#evictTo(oldest);
  }

  /** Move the window start to `oldest` (a record boundary ahead of it) and report what left. */
  #evictTo(oldest: number): void {
    const from = this.#oldest;
    this.#oldest = oldest;
    // Before any byte of the evicted records is overwritten: a reader that read them validates
    // against OLDEST_POS afterwards and must find it moved (layout.ts, "evict").
    Atomics.store(this.#ctl, Ctl.OLDEST_POS, oldest | 0);

    // Reported only now, so that a throwing listener cannot leave OLDEST_POS behind the bytes
    // about to be overwritten; the evicted bytes are still intact until append() goes on.
    const onEvict = this.#onEvict;
    const mask = this.#mask;
    for (let pos = from; pos !== oldest; ) {
      const view = this.#segmentAt(pos).view;
      const off = pos & mask;
      if (view.getUint16(off + Rec.KIND, true) !== PAD_KIND) {
        const rv = view.getFloat64(off + Rec.RV, true);
        this.#lastEvictedRv = rv;
        if (onEvict !== undefined) onEvict(rv, view.getUint32(off + Rec.SEQ, true), pos);
      }
      pos = (pos + view.getUint32(off + Rec.LENGTH, true)) >>> 0;
    }
  }
}
