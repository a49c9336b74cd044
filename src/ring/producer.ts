/**
 * The ring's single producer: the watch cache on the main thread. It appends records, publishes
 * them in batches and never waits for a reader; room for a new record is made by evicting the
 * oldest records from the window. See layout.ts for the format and the ordering rules.
 */
import { ErrorCodes, invalidArgument, WatchCacheError } from '../errors.js';
import {
  CONTROL_BYTES,
  Ctl,
  LAYOUT_VERSION,
  MAX_CAPACITY,
  MIN_CAPACITY,
  PAD_KIND,
  RECORD_HEADER_BYTES,
  RING_MAGIC,
  Rec,
  RecordKind,
  isPowerOfTwo,
  maxRecordBytes,
  recordBytes,
} from './layout.js';

/** The two shared buffers of a ring; structured-clone safe, so a worker can attach to them. */
export interface RingBuffers {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

/**
 * Called once per record that leaves the window, oldest first, before its bytes are reused.
 * After it, a watch that needs events newer than `rv` can no longer be fully served from the
 * ring unless the start RV is at least `rv` (several records may share an rv). It runs inside
 * append(), after the window moved and before the new bytes are written: it must not call back
 * into the producer, and should not throw (if it does, append() throws without appending, the
 * records stay evicted and the rest of them are not reported; the ring stays consistent).
 */
export type EvictListener = (rv: number, seq: number, position: number) => void;

export interface RingProducerOptions {
  /** Bytes of record storage: a power of two from MIN_CAPACITY (256) to MAX_CAPACITY (2^30). */
  capacity: number;
  /**
   * Position of the first record: a multiple of 8 below 2^32. Default 0. Starting near 2^32
   * exercises the position wrap-around in tests.
   */
  initialPosition?: number;
  /** Sequence number of the first record: a uint32. Default 0. */
  initialSeq?: number;
  onEvict?: EvictListener;
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
  /** triggerHash() of the new object's trigger value; 0 (default) = none. */
  triggerHash?: number;
  /** triggerHash() of the previous object's trigger value; 0 (default) = none. */
  prevTriggerHash?: number;
  /** RecordFlags bits (payload encoding); default 0 (JSON). */
  flags?: number;
}

const UINT32_LIMIT = 2 ** 32;

export class RingProducer {
  readonly buffers: RingBuffers;
  /** Bytes of record storage. */
  readonly capacity: number;
  /** The largest record accepted, header and padding included (capacity / 4). */
  readonly maxRecordBytes: number;

  readonly #ctl: Int32Array;
  /** A Buffer over the shared data: utf8 writes and copies without temporary arrays. */
  readonly #bytes: Buffer;
  readonly #view: DataView;
  readonly #mask: number;
  readonly #onEvict: EvictListener | undefined;

  /** Window start; mirrors OLDEST_POS (ahead of it only while an eviction is in progress). */
  #oldest: number;
  /** Mirrors WRITE_POS. */
  #published: number;
  /** End of the last appended record, published or not. */
  #appended: number;
  #nextSeq: number;
  #lastEvictedRv: number | undefined = undefined;

  constructor(options: RingProducerOptions) {
    const { capacity } = options;
    if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
      throw invalidArgument(`ring capacity must be a power of two in [${MIN_CAPACITY}, ${MAX_CAPACITY}], got ${capacity}`);
    }
    const start = options.initialPosition ?? 0;
    if (!Number.isInteger(start) || start < 0 || start >= UINT32_LIMIT || start % 8 !== 0) {
      throw invalidArgument(`ring initialPosition must be a multiple of 8 below 2^32, got ${start}`);
    }
    const seq = options.initialSeq ?? 0;
    if (!Number.isInteger(seq) || seq < 0 || seq >= UINT32_LIMIT) {
      throw invalidArgument(`ring initialSeq must be a uint32, got ${seq}`);
    }

    this.capacity = capacity;
    this.maxRecordBytes = maxRecordBytes(capacity);
    this.#mask = capacity - 1;
    this.#onEvict = options.onEvict;
    this.#oldest = start;
    this.#published = start;
    this.#appended = start;
    this.#nextSeq = seq;

    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const data = new SharedArrayBuffer(capacity);
    this.buffers = { control, data };
    this.#ctl = new Int32Array(control);
    this.#bytes = Buffer.from(data);
    this.#view = new DataView(data);

    // Plain stores suffice for the rest: nobody can see these buffers until they are handed over
    // (postMessage / workerData), and handing over orders everything written before it.
    const ctl = this.#ctl;
    ctl[Ctl.WRITE_POS] = start | 0;
    ctl[Ctl.OLDEST_POS] = start | 0;
    ctl[Ctl.MAGIC] = RING_MAGIC;
    ctl[Ctl.VERSION] = LAYOUT_VERSION;
    ctl[Ctl.CAPACITY] = capacity | 0;
    ctl[Ctl.MAX_RECORD_BYTES] = this.maxRecordBytes;
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
      const off = pos & this.#mask;
      if (this.#view.getUint16(off + Rec.KIND, true) !== PAD_KIND) return this.#view.getFloat64(off + Rec.RV, true);
      pos = (pos + this.#view.getUint32(off + Rec.LENGTH, true)) >>> 0;
    }
    return undefined;
  }

  /**
   * Write a record after the last appended one, without making it visible to readers (see
   * publish()). Returns its position: a reader can start there for as long as the record stays
   * in the window, which is how the cache replays from an RV. Evicts the oldest records as
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
    const keyLength = key === undefined || key.length === 0 ? 0 : Buffer.byteLength(key, 'utf8');
    const objectLength = object === undefined ? 0 : object.byteLength;
    const prevLength = prev === undefined ? 0 : prev.byteLength;
    const need = recordBytes(keyLength, objectLength, prevLength);
    if (need > this.maxRecordBytes) {
      throw new WatchCacheError(
        ErrorCodes.RECORD_TOO_LARGE,
        `ring record of ${need} bytes (key ${keyLength}, object ${objectLength}, prev ${prevLength}) ` +
          `exceeds the maximum of ${this.maxRecordBytes} bytes`,
      );
    }

    const capacity = this.capacity;
    let pos = this.#appended;
    const tailOffset = pos & this.#mask;
    const pad = tailOffset + need > capacity ? capacity - tailOffset : 0;
    const end = (pos + pad + need) >>> 0;

    // The window can only drop records readers were shown (invariant I6): if this batch alone
    // would outgrow the ring, show what is pending before its oldest part gets evicted.
    if ((end - this.#published) >>> 0 > capacity) this.publish();
    this.#makeRoom(end);

    const view = this.#view;
    if (pad !== 0) {
      view.setUint32(tailOffset + Rec.LENGTH, pad, true);
      view.setUint16(tailOffset + Rec.KIND, PAD_KIND, true);
      view.setUint16(tailOffset + Rec.FLAGS, 0, true);
      pos = (pos + pad) >>> 0;
    }

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
    let at = off + RECORD_HEADER_BYTES;
    if (keyLength !== 0) this.#bytes.write(key as string, at, keyLength, 'utf8');
    at += keyLength;
    if (objectLength !== 0) this.#bytes.set(object as Uint8Array, at);
    at += objectLength;
    if (prevLength !== 0) this.#bytes.set(prev as Uint8Array, at);

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
   * and the window restarts at the next multiple of the capacity, strictly after every position
   * handed out so far, so that each of them now reads as lapped. onEvict is not called. Returns
   * the new start position.
   */
  reset(): number {
    const start = ((this.#appended | this.#mask) + 1) >>> 0;
    const ctl = this.#ctl;
    // First, so that a reader that sees the new window (below) also sees the new epoch.
    Atomics.add(ctl, Ctl.EPOCH, 1);
    // Before WRITE_POS: moving the start first keeps the window from ever looking larger than
    // the ring; a reader seeing oldest ahead of write reads nothing, and every old position lapped.
    Atomics.store(ctl, Ctl.OLDEST_POS, start | 0);
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

  /** Evict whole records from the window start until [start, end) fits in the ring. */
  #makeRoom(end: number): void {
    const capacity = this.capacity;
    const from = this.#oldest;
    if ((end - from) >>> 0 <= capacity) return;
    const view = this.#view;
    const mask = this.#mask;
    let oldest = from;
    do {
      oldest = (oldest + view.getUint32((oldest & mask) + Rec.LENGTH, true)) >>> 0;
    } while ((end - oldest) >>> 0 > capacity);
    this.#oldest = oldest;
    // Before any byte of the evicted records is overwritten: a reader that read them validates
    // against OLDEST_POS afterwards and must find it moved (layout.ts, "evict").
    Atomics.store(this.#ctl, Ctl.OLDEST_POS, oldest | 0);

    // Reported only now, so that a throwing listener cannot leave OLDEST_POS behind the bytes
    // about to be overwritten; the evicted bytes are still intact until append() goes on.
    const onEvict = this.#onEvict;
    for (let pos = from; pos !== oldest; ) {
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
