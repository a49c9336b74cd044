/**
 * A reader of the broadcast ring: one per thread (main thread or worker), shared by every cursor
 * on that thread. Cursors are plain position numbers held by their owners (a partition, a
 * watcher); the reader keeps no per-cursor state and never writes shared memory.
 *
 * Reading is optimistic, because the producer never waits (seqlock / Agrona style):
 *
 *   1. Note `publishSeq()` (for waiting later), then read records from the cursor with scan()
 *      (or read() + `record.next`). A record view, and everything derived from it (fields, key,
 *      object bytes, decoded objects), is provisional: the producer may be overwriting those
 *      bytes at that very moment.
 *   2. Validate: `isLapped(start)`, where `start` is the first position read since the last
 *      validation. If it is false, nothing read since `start` was overwritten: keep the results
 *      and only then release them (send frames, copy out, advance the cursor). If it is true,
 *      drop them all and resync: the owner's watchers get 410 Gone, and the cursor jumps to
 *      `oldestPosition()` (replay what is left) or `writePosition()` (only new events).
 *      scan() validates the slice itself before returning.
 *   3. When caught up (scan() returns its start), `await waitForPublish(seqFromStep1)`.
 *
 * Views into shared memory (`object()`, `prevObject()`, `attributes()`, `prevAttributes()`) stay
 * valid only until validation: copy what must outlive it (their `slice()` copies) or derive it
 * (frames, decoded objects) before validating, and use only what validation vouched for.
 *
 * Segments: the reader reads only segments it has been given (the constructor's buffers, then
 * attach() with each new set the producer announces). Where the window enters a segment it does
 * not have yet, it stops as if nothing were published there; after attach() it goes on.
 *
 * In a worker, keep one ref'd handle (e.g. the parentPort 'message' listener): a pending
 * Atomics.waitAsync does not keep a worker's event loop alive.
 *
 * Why one file of ~460 lines: the record view, the segment set and the scan-validate-wait
 * protocol read the same offsets and control words (layout.ts); apart, each would re-derive them.
 */
import { ErrorCodes, invalidArgument, WatchCacheError } from '../errors.js';
import type { RingBuffers, RingSegment } from './producer.js';
import {
  CONTROL_BYTES,
  Ctl,
  LAYOUT_VERSION,
  PAD_KIND,
  PAD_MIN_BYTES,
  RECORD_HEADER_BYTES,
  RING_MAGIC,
  Rec,
  RecordKind,
  SEG_TABLE,
  align8,
  distance,
  isPowerOfTwo,
  maxRecordBytes,
} from './layout.js';

/** A record as a reader sees it. Provisional until the reader validates (see the module doc). */
export interface RingRecord {
  /** Where the record starts (after any PAD that was skipped to reach it). */
  readonly position: number;
  /** Where the following record starts: the cursor value after consuming this one. */
  readonly next: number;
  readonly kind: RecordKind;
  readonly flags: number;
  readonly seq: number;
  readonly rv: number;
  readonly triggerHash: number;
  readonly prevTriggerHash: number;
  readonly keyLength: number;
  readonly objectLength: number;
  readonly prevObjectLength: number;
  /** Bytes of the object's attribute section (ring/attributes.ts); 0 = none. */
  readonly attributesLength: number;
  /** Bytes of the previous object's attribute section; 0 = none. */
  readonly prevAttributesLength: number;
  /** Decodes the key (a new string each call). */
  key(): string;
  /** A view of the object bytes in shared memory; valid only until validation. */
  object(): Uint8Array;
  /** A view of the previous object's bytes in shared memory; valid only until validation. */
  prevObject(): Uint8Array;
  /** A view of the object's attribute section in shared memory; valid only until validation. */
  attributes(): Uint8Array;
  /** A view of the previous object's attribute section in shared memory; valid only until validation. */
  prevAttributes(): Uint8Array;
}

/** What scan() returns when the slice was overwritten while it was read: drop it and resync. */
export const SCAN_LAPPED = -1;

/** Atomics.waitAsync is ES2024; the project's lib is ES2023, and Node 20 has it. */
interface AtomicsWaitAsync {
  waitAsync(
    typedArray: Int32Array,
    index: number,
    value: number,
    timeout?: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}

/** A segment as a reader holds it. */
interface SegmentView {
  readonly id: number;
  /** For utf8 decoding of keys. */
  readonly bytes: Buffer;
  /** For views of the object bytes as plain Uint8Arrays (their slice() copies, a Buffer's does not). */
  readonly array: Uint8Array;
  readonly view: DataView;
}

class RecordView implements RingRecord {
  position = 0;
  next = 0;
  kind: RecordKind = RecordKind.ADDED;
  flags = 0;
  seq = 0;
  rv = 0;
  triggerHash = 0;
  prevTriggerHash = 0;
  keyLength = 0;
  objectLength = 0;
  prevObjectLength = 0;
  attributesLength = 0;
  prevAttributesLength = 0;
  /** Offset of the key bytes in the segment; the object, prev and attribute bytes follow. */
  keyOffset = 0;
  /** The segment the record is in. */
  segment: SegmentView | undefined = undefined;

  key(): string {
    return this.segment!.bytes.toString('utf8', this.keyOffset, this.keyOffset + this.keyLength);
  }

  object(): Uint8Array {
    const start = this.keyOffset + this.keyLength;
    return this.segment!.array.subarray(start, start + this.objectLength);
  }

  prevObject(): Uint8Array {
    const start = this.keyOffset + this.keyLength + this.objectLength;
    return this.segment!.array.subarray(start, start + this.prevObjectLength);
  }

  attributes(): Uint8Array {
    const start = this.keyOffset + this.keyLength + this.objectLength + this.prevObjectLength;
    return this.segment!.array.subarray(start, start + this.attributesLength);
  }

  prevAttributes(): Uint8Array {
    const start = this.keyOffset + this.keyLength + this.objectLength + this.prevObjectLength + this.attributesLength;
    return this.segment!.array.subarray(start, start + this.prevAttributesLength);
  }
}

/** What #parse() found at a position. */
const PARSED_RECORD = 0;
const PARSED_PAD = 1;
/** Not a record: torn by a concurrent overwrite (lapped), or a bug. */
const PARSED_BAD = 2;
/** In a segment this reader does not have (yet): stop there. */
const PARSED_MISSING = 3;
type Parsed = typeof PARSED_RECORD | typeof PARSED_PAD | typeof PARSED_BAD | typeof PARSED_MISSING;

export class RingReader {
  /** Bytes of one segment. */
  readonly segmentBytes: number;
  readonly maxRecordBytes: number;

  readonly #ctl: Int32Array;
  readonly #shift: number;
  readonly #mask: number;
  readonly #slotMask: number;
  #segments = new Map<number, SegmentView>();
  /** The last segment looked up: most lookups are for the same one. */
  #last: SegmentView | undefined = undefined;
  /** A word no other thread touches; see isLapped(). */
  readonly #fence = new Int32Array(new SharedArrayBuffer(4));
  /** One view each for scan(), read() without a caller's view, and next(), so none clobbers another. */
  readonly #scanView = new RecordView();
  readonly #readView = new RecordView();
  readonly #nextView = new RecordView();

  constructor(buffers: RingBuffers) {
    const { control } = buffers;
    if (!(control instanceof SharedArrayBuffer)) throw invalidArgument('ring buffers must be SharedArrayBuffers');
    if (control.byteLength < CONTROL_BYTES) throw invalidArgument(`ring control block must have ${CONTROL_BYTES} bytes`);
    const ctl = new Int32Array(control);
    // Plain reads: the producer wrote these constants before handing the buffers over, and the
    // hand-over (postMessage, workerData) orders everything written before it.
    const magic = ctl[Ctl.MAGIC];
    const version = ctl[Ctl.VERSION];
    const segmentBytes = ctl[Ctl.SEGMENT_BYTES]!;
    const slots = ctl[Ctl.TABLE_SLOTS]!;
    if (magic !== RING_MAGIC || version !== LAYOUT_VERSION) {
      throw invalidArgument(`not a ring control block of layout version ${LAYOUT_VERSION}`);
    }
    if (!isPowerOfTwo(segmentBytes) || !isPowerOfTwo(slots) || control.byteLength < (SEG_TABLE + slots) * 4) {
      throw invalidArgument('ring control block is malformed');
    }
    this.segmentBytes = segmentBytes;
    this.maxRecordBytes = maxRecordBytes(segmentBytes);
    this.#ctl = ctl;
    this.#shift = Math.log2(segmentBytes);
    this.#mask = segmentBytes - 1;
    this.#slotMask = slots - 1;
    this.attach(buffers.segments);
  }

  /**
   * Take the producer's current set of segments (RingBuffers.segments, or what its onSegments
   * announced): new ones become readable, ones no longer listed are released. Sets must be
   * attached in the order the producer announced them.
   */
  attach(segments: readonly RingSegment[]): void {
    if (!Array.isArray(segments)) throw invalidArgument('ring segments must be an array');
    const next = new Map<number, SegmentView>();
    for (const segment of segments) {
      const { id, data } = segment;
      if (!(data instanceof SharedArrayBuffer)) throw invalidArgument('ring buffers must be SharedArrayBuffers');
      if (data.byteLength !== this.segmentBytes) {
        throw invalidArgument(`ring segment has ${data.byteLength} bytes, the control block says ${this.segmentBytes}`);
      }
      let view = this.#segments.get(id);
      if (view === undefined) {
        const bytes = Buffer.from(data);
        view = { id, bytes, array: new Uint8Array(data), view: new DataView(data) };
      }
      next.set(id, view);
    }
    this.#segments = next;
    this.#last = undefined;
  }

  /** How many segments this reader holds. */
  get segmentCount(): number {
    return this.#segments.size;
  }

  /** A view for read(pos, view), so that several records can be held at once. */
  createView(): RingRecord {
    return new RecordView();
  }

  /** The window start: the oldest position a cursor may hold. Resync here to replay what is left. */
  oldestPosition(): number {
    // Producer-written; an atomic load is what makes the value current.
    return Atomics.load(this.#ctl, Ctl.OLDEST_POS) >>> 0;
  }

  /** The end of the published records. Resync here to skip to new events only. */
  writePosition(): number {
    // Acquire: the bytes of every record before this position are visible after this load.
    return Atomics.load(this.#ctl, Ctl.WRITE_POS) >>> 0;
  }

  /** The publish counter (an int32 that wraps). Read it before looking for records; wait on it. */
  publishSeq(): number {
    // Must be read before WRITE_POS for waitForPublish() not to miss a publish (layout.ts).
    return Atomics.load(this.#ctl, Ctl.PUB_SEQ);
  }

  /** Bumped by every producer reset (the cache relisted and the window restarted empty). */
  epoch(): number {
    // Producer-written; read current.
    return Atomics.load(this.#ctl, Ctl.EPOCH);
  }

  /**
   * Whether the producer has overwritten, or is free to overwrite, the bytes at `pos`: `pos` is
   * before the window start. Called after reading from `pos` (and anything after it), a false
   * answer validates everything read: see the module doc.
   */
  isLapped(pos: number): boolean {
    // JavaScript has no standalone fence, and on weakly ordered CPUs (arm64: the load below is an
    // acquire-only ldar) the caller's earlier plain reads of record bytes could be satisfied after
    // the OLDEST_POS load; a read-modify-write on a private word has release semantics and keeps
    // them before it. On x64 it is one locked add.
    Atomics.add(this.#fence, 0, 1);
    // The validation itself: the producer moves OLDEST_POS before it overwrites anything.
    const oldest = Atomics.load(this.#ctl, Ctl.OLDEST_POS);
    return distance(oldest, pos) < 0;
  }

  /**
   * The record at `pos`, skipping a PAD there; null when nothing is published at `pos` yet (or
   * it is in a segment this reader has not been given yet).
   * Fills `into` (from createView()) or a view owned by the reader that the next read() reuses.
   * Throws WC_ERR_RING_LAPPED when `pos` is already outside the window or the record proves to be
   * torn. The result is provisional: validate with isLapped(pos) after using it.
   */
  read(pos: number, into?: RingRecord): RingRecord | null {
    let view = this.#readView;
    if (into !== undefined) {
      if (!(into instanceof RecordView)) throw invalidArgument('read() takes a view from createView()');
      view = into;
    }
    const start = pos >>> 0;
    const write = this.writePosition();
    if (distance(start, write) <= 0) return null;
    // Early exit for a cursor lapped long ago (no fence needed: nothing has been read yet).
    if (distance(Atomics.load(this.#ctl, Ctl.OLDEST_POS), start) < 0) throw this.#lapped(start);
    let p = start;
    for (;;) {
      const parsed = this.#parse(p, write, view);
      if (parsed === PARSED_RECORD) return view;
      if (parsed === PARSED_BAD) throw this.#suspect(start);
      if (parsed === PARSED_MISSING) {
        if (this.isLapped(start)) throw this.#lapped(start);
        return null;
      }
      p = view.next;
      if (p === write) return null;
    }
  }

  /**
   * The position after the record at `pos` (a PAD and the record after it count as one step);
   * `pos` itself when nothing is published there. Provisional like read(), and throws like it.
   */
  next(pos: number): number {
    const record = this.read(pos, this.#nextView);
    return record === null ? pos >>> 0 : record.next;
  }

  /**
   * Visit the published records from `pos` on, at most `maxRecords` of them (PADs skipped and not
   * counted), then validate the slice. Returns the position after the last visited record (`pos`
   * when nothing new is published), or SCAN_LAPPED when the slice was overwritten while it was
   * read; then everything `visit` did must be dropped (and the cursor resynced). It stops early
   * at a segment this reader has not been given yet.
   *
   * `visit` gets one reused view: it must copy what it keeps. It may see torn data in a slice that
   * ends up lapped; an exception it throws then is swallowed (the slice is lapped anyway),
   * otherwise rethrown. Records within a slice are checked for consecutive seqs (across slices,
   * nothing checks them; see layout.ts).
   */
  scan(pos: number, maxRecords: number, visit: (record: RingRecord) => void): number {
    const start = pos >>> 0;
    const write = this.writePosition();
    if (distance(start, write) <= 0) return start;
    // Early exit for a cursor lapped long ago (no fence needed: nothing has been read yet).
    if (distance(Atomics.load(this.#ctl, Ctl.OLDEST_POS), start) < 0) return SCAN_LAPPED;
    const view = this.#scanView;
    let p = start;
    let visited = 0;
    let expectedSeq = -1;
    while (visited < maxRecords && p !== write) {
      const parsed = this.#parse(p, write, view);
      if (parsed === PARSED_PAD) {
        p = view.next;
        continue;
      }
      if (parsed === PARSED_MISSING) break;
      if (parsed === PARSED_BAD || (expectedSeq !== -1 && view.seq !== expectedSeq)) {
        if (this.isLapped(start)) return SCAN_LAPPED;
        throw this.#corrupt(p);
      }
      expectedSeq = (view.seq + 1) >>> 0;
      try {
        visit(view);
      } catch (err) {
        if (this.isLapped(start)) return SCAN_LAPPED;
        throw err;
      }
      p = view.next;
      visited++;
    }
    return this.isLapped(start) ? SCAN_LAPPED : p;
  }

  /**
   * Wait until the producer publishes (or resets) after the caller read `lastSeq` from
   * publishSeq(). Returns synchronously 'not-equal' when that already happened, or 'timed-out'
   * for a zero timeout; otherwise a promise of 'ok' or 'timed-out'. `await` works on either.
   */
  waitForPublish(
    lastSeq: number,
    timeoutMs = Number.POSITIVE_INFINITY,
  ): 'not-equal' | 'timed-out' | Promise<'ok' | 'timed-out'> {
    // Futex rule: wait on the value read before looking for records, never on a target value;
    // a publish in between makes this return 'not-equal' instead of being slept through.
    const result = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.#ctl, Ctl.PUB_SEQ, lastSeq | 0, timeoutMs);
    return result.value;
  }

  /**
   * Fill `view` from the record at `p`, checking that the header describes a record that lies in
   * the published part of the window. A failed check means the bytes were torn by an overwrite.
   */
  #parse(p: number, write: number, view: RecordView): Parsed {
    const segment = this.#segmentAt(p);
    if (segment === undefined) return PARSED_MISSING;
    const bytes = segment.view;
    const off = p & this.#mask;
    const length = bytes.getUint32(off + Rec.LENGTH, true);
    if (
      length < PAD_MIN_BYTES ||
      length > this.maxRecordBytes ||
      length % PAD_MIN_BYTES !== 0 ||
      off + length > this.segmentBytes ||
      (write - p) >>> 0 < length
    ) {
      return PARSED_BAD;
    }
    const kind = bytes.getUint16(off + Rec.KIND, true);
    if (kind === PAD_KIND) {
      view.next = (p + length) >>> 0;
      return PARSED_PAD;
    }
    if (kind < RecordKind.ADDED || kind > RecordKind.PROGRESS || length < RECORD_HEADER_BYTES) return PARSED_BAD;
    const keyLength = bytes.getUint32(off + Rec.KEY_LENGTH, true);
    const objectLength = bytes.getUint32(off + Rec.OBJECT_LENGTH, true);
    const prevObjectLength = bytes.getUint32(off + Rec.PREV_OBJECT_LENGTH, true);
    const attributesLength = bytes.getUint32(off + Rec.ATTRIBUTES_LENGTH, true);
    const prevAttributesLength = bytes.getUint32(off + Rec.PREV_ATTRIBUTES_LENGTH, true);
    // Five u32s: the sum is exact (far below 2^53) however torn the header is.
    const payload = keyLength + objectLength + prevObjectLength + attributesLength + prevAttributesLength;
    if (payload > length - RECORD_HEADER_BYTES || align8(RECORD_HEADER_BYTES + payload) !== length) return PARSED_BAD;
    view.segment = segment;
    view.position = p;
    view.next = (p + length) >>> 0;
    view.kind = kind as RecordKind;
    view.flags = bytes.getUint16(off + Rec.FLAGS, true);
    view.seq = bytes.getUint32(off + Rec.SEQ, true);
    view.triggerHash = bytes.getUint32(off + Rec.TRIGGER, true);
    view.prevTriggerHash = bytes.getUint32(off + Rec.PREV_TRIGGER, true);
    view.keyLength = keyLength;
    view.objectLength = objectLength;
    view.prevObjectLength = prevObjectLength;
    view.attributesLength = attributesLength;
    view.prevAttributesLength = prevAttributesLength;
    view.rv = bytes.getFloat64(off + Rec.RV, true);
    view.keyOffset = off + RECORD_HEADER_BYTES;
    return PARSED_RECORD;
  }

  /**
   * The segment holding position `p` according to the table, if this reader has it. The slot is
   * read every time (a stale mapping is caught by validation, I7); only the id → view lookup is
   * cached, and ids are never reused.
   */
  #segmentAt(p: number): SegmentView | undefined {
    const id = Atomics.load(this.#ctl, SEG_TABLE + ((p >>> this.#shift) & this.#slotMask));
    const last = this.#last;
    if (last !== undefined && last.id === id) return last;
    const segment = this.#segments.get(id);
    if (segment !== undefined) this.#last = segment;
    return segment;
  }

  /** A header that makes no sense: lapped if the window moved past `start`, else a real fault. */
  #suspect(start: number): WatchCacheError {
    return this.isLapped(start) ? this.#lapped(start) : this.#corrupt(start);
  }

  #lapped(pos: number): WatchCacheError {
    return new WatchCacheError(
      ErrorCodes.RING_LAPPED,
      `ring position ${pos} was overwritten (the window starts at ${this.oldestPosition()}); resync`,
    );
  }

  #corrupt(pos: number): WatchCacheError {
    return new WatchCacheError(ErrorCodes.INTERNAL, `ring record at position ${pos} is malformed but not lapped`);
  }
}
