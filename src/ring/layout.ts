/**
 * The broadcast ring's shared-memory layout: every offset, record kind and invariant lives here,
 * so that the producer (main thread) and the readers (main thread or worker_threads) cannot
 * disagree about a byte.
 *
 * The ring is the cache's event window. ONE producer appends records and never waits for
 * readers: when it needs room it moves the window start (OLDEST_POS) past the oldest records
 * and overwrites them. Readers hold their cursors as plain numbers on their own side, read
 * optimistically, and validate afterwards (seqlock / Agrona broadcast style): a reader whose
 * position fell behind OLDEST_POS has been "lapped", must drop what it read and resync, and its
 * watchers get 410 Gone.
 *
 * The record storage is a chain of SEGMENTS, SharedArrayBuffers of SEG = 2^s bytes each, so that
 * the window can grow (a new segment) and shrink (a segment dropped) while readers read. The
 * position space is cut into segment numbers n = pos >>> s; the segment numbers the window
 * covers are mapped to segments by a table in the control block. A worker attaches to the control
 * block and to the segments it is sent (workerData, then a message per change of the set):
 *
 *   control (Int32Array, CONTROL_BYTES)                segment id 7 (SEG bytes)   segment id 3
 *   line 0: written by the producer, read by all       +------------------------+ +-------------
 *   [0] WRITE_POS   end of the last published record   | rec | rec |... | PAD   | | rec | rec ..
 *   [1] OLDEST_POS  window start (first valid byte)    +------------------------+ +-------------
 *   [2] PUB_SEQ     +1 per publish batch / reset        ^offset = pos & (SEG - 1), in the segment
 *   [3] EPOCH       +1 per reset                          SEG_TABLE[(pos >>> s) & (SLOTS - 1)] names
 *   line 1: constants, written once before sharing
 *   [16] MAGIC  [17] VERSION  [18] SEGMENT_BYTES  [19] MAX_RECORD_BYTES  [20] TABLE_SLOTS
 *   [32 .. 32 + SLOTS) SEG_TABLE: id of the segment holding segment number n at slot n & (SLOTS-1);
 *                      0 = none. Written by the producer (Atomics.store), read with Atomics.load.
 *
 * The producer words share one cache line on purpose: there is a single writer, so there is no
 * false sharing between writers, and a reader that polls WRITE_POS pulls OLDEST_POS with it.
 * Readers never write the control block.
 *
 * With k segments the ring holds CAP = k * SEG bytes and behaves exactly like one buffer of CAP
 * bytes: when the write position enters segment number n + 1, the producer either
 *   - RECYCLES the segment of number n + 1 - k (the oldest): maps n + 1 to it and overwrites its
 *     records from the front as it goes (evicting them one by one, as a single ring would), or
 *   - GROWS: allocates a new segment, hands it to every reader, maps n + 1 to it; CAP += SEG and
 *     nothing is evicted.
 * It may also DROP the oldest segment (shrink): evict every record before the end of the oldest
 * mapped segment number, clear its slot, and release it; CAP -= SEG. Which of these happens is a
 * policy of the producer's owner (the watch cache sizes the window by time); the ring only keeps
 * the invariants below.
 *
 * Positions are free-running uint32 byte counts (`x >>> 0`). Distances are taken in uint32/int32
 * modular arithmetic (`distance()`), so comparisons stay right across the 2^32 wrap as long as
 * the two positions are less than 2^31 apart (CAP <= 2^30 keeps every in-window distance far
 * below that; a reader that sleeps through 2 GiB of traffic cannot be told apart from a current
 * one by position alone. Records carry a sequence number, and scan() checks that the seqs within
 * one slice are consecutive; nothing checks them across slices, so that one case, a cursor left
 * unread through 2 GiB, goes unseen).
 *
 * Record (little-endian, 8-byte aligned; every record length is a multiple of 8):
 *
 *    0        4     6     8        12       16       20       24       28       32             40       44       48
 *   +--------+-----+-----+--------+--------+--------+--------+--------+--------+--------------+--------+--------+
 *   | length |kind |flags|  seq   |trigger |prevTrig| keyLen | objLen |prevLen |  rv (f64)    |attrLen |prvAttrL|
 *   +--------+-----+-----+--------+--------+--------+--------+--------+--------+--------------+--------+--------+
 *   | key (utf8, keyLen) | object (objLen) | previous object (prevLen) | attributes (attrLen) |
 *   | previous attributes (prevAttrLen) | 0..7 slack bytes                                     |
 *   +-----------------------------------------------------------------------------------------+
 *
 *   length   u32  the whole record: header + key + object + prev + attributes + prev attributes,
 *                 rounded up to 8
 *   kind     u16  RecordKind (1..4) or PAD_KIND
 *   flags    u16  RecordFlags (payload encoding in the low bits; the rest reserved)
 *   seq      u32  record sequence, +1 per non-PAD record (free-running, wraps); scan() checks gaps
 *   trigger  u32  triggerHash() of the new object's trigger value, 0 = none
 *   prevTrig u32  triggerHash() of the previous object's trigger value, 0 = none
 *   rv       f64  resourceVersion; exact for integers up to 2^53 - 1
 *   attrLen  u32  bytes of the object's attribute section, 0 = none
 *   prvAttrL u32  bytes of the previous object's attribute section, 0 = none
 *
 * The attribute sections (ring/attributes.ts has their format and codec) carry what predicates
 * read of the object and of the previous object (namespace, name, labels, selectable field
 * values, shard hashes), encoded once by the watch cache, so that dispatchers filter without
 * parsing the JSON. The watch cache writes them for every ADDED, MODIFIED and DELETED record,
 * the previous one exactly when the record carries the previous object (a MODIFIED too large
 * to carry it goes without both). A section is only ever written with its object: the producer
 * refuses attributes without an object and previous attributes without a previous object.
 * PROGRESS records carry neither.
 *
 * PAD (the tail filler at the end of a segment) is only 8 bytes of meaning: `length` and `kind`.
 * Because every position and length is a multiple of 8, the tail left before the end of a
 * segment is either 0 or at least 8 bytes, so a PAD always fits, even where a full header would
 * not. A PAD has no seq and no rv; readers skip it and report the record after it.
 *
 * Invariants (positions compared with `distance()`; CAP = mapped segments * SEG):
 *   I1  oldest <= write <= oldest + CAP, for the published words. (reset() makes the window
 *       empty by moving OLDEST_POS ahead first, so a reader may briefly see oldest > write;
 *       readers treat a non-positive `distance(pos, write)` as "nothing to read".)
 *   I2  A reader position p is valid iff oldest <= p <= write; p < oldest means lapped.
 *   I3  Records never straddle the end of a segment: offset + length <= SEG. A record that does
 *       not fit in the tail is preceded by a PAD covering the tail, and starts at offset 0 of the
 *       next segment number.
 *   I4  Records tile the window: from OLDEST_POS, adding lengths reaches WRITE_POS exactly.
 *   I5  length <= MAX_RECORD_BYTES (SEG / 4) for every record, PADs included.
 *   I6  The producer never evicts a record it has not published: if an unpublished batch would
 *       outgrow the ring, append() publishes first. So OLDEST_POS never passes WRITE_POS except
 *       transiently inside reset().
 *   I7  Every segment number between OLDEST_POS and WRITE_POS is mapped, and a segment keeps its
 *       slot until every record of that number is evicted (OLDEST_POS moved past it). A slot is
 *       changed only for a number no reader may validly hold: a new number (ahead of WRITE_POS) or
 *       one wholly behind OLDEST_POS. So a reader that maps a position through a stale slot read
 *       what it read from a lapped position, and validation discards it.
 *   I8  A new segment is handed to the readers (onSegments) before its slot is stored and before
 *       anything is written into it. A reader that has not received it yet (the hand-over is a
 *       message, slower than shared memory) stops at that segment as if nothing were published
 *       there, and goes on once attach() gives it the segment: it never reads a segment it does
 *       not have. A dropped segment is never written again; a reader that still holds it reads
 *       only evicted positions there, which validation discards.
 *   I9  At most MAX_SEGMENTS mapped segments, and CAP <= MAX_CAPACITY, so the window's segment
 *       numbers have distinct slots and every in-window distance stays below 2^31.
 *
 * Ordering of the Atomics operations (all seq-cst; the record bytes are plain stores/loads):
 *   publish:  bytes (plain) → store WRITE_POS → add PUB_SEQ → notify PUB_SEQ.
 *             A reader that loads WRITE_POS and sees the new value also sees every byte written
 *             before the store, so bytes must be written first.
 *             PUB_SEQ moves after WRITE_POS so that a reader that loaded PUB_SEQ before looking
 *             for records and then waits on that value cannot miss a publish (futex rule).
 *   evict:    store OLDEST_POS → overwrite bytes (plain).
 *             A reader validates after reading by loading OLDEST_POS; if any byte it read had
 *             already been overwritten, OLDEST_POS had already moved past that byte, so the
 *             reader sees it moved and discards what it read. JavaScript has no load fence, so
 *             the reader puts a read-modify-write on a private word between its plain reads and
 *             that load (RingReader.isLapped) to keep weakly ordered CPUs from reordering them.
 *   segment:  (grow) hand the segment to the readers → store SEG_TABLE slot → bytes → publish.
 *             (recycle) store the new number's slot → evict from the front as records are written.
 *             (drop) store OLDEST_POS past the segment → store 0 in its slot → hand the smaller
 *             set to the readers (they release the segment).
 *             The slot is stored before WRITE_POS covers the segment, so a reader that sees the
 *             records also sees the slot.
 *   reset:    add EPOCH → store OLDEST_POS (ahead of WRITE_POS) → store the slots → store
 *             WRITE_POS → add PUB_SEQ → notify. EPOCH first so that anyone who sees the new
 *             window also sees the new epoch; OLDEST_POS before WRITE_POS so that the window never
 *             looks larger than CAP.
 */

/** Slots of the segment table: the most segments a ring maps at once (I9). */
export const MAX_SEGMENTS = 1024;
/** Int32 index of slot 0 of the segment table. */
export const SEG_TABLE = 32;
/** Bytes of the control SharedArrayBuffer: two 64-byte cache lines, then the segment table. */
export const CONTROL_BYTES = SEG_TABLE * 4 + MAX_SEGMENTS * 4;

/** Int32 indexes into the control block. */
export const Ctl = {
  WRITE_POS: 0,
  OLDEST_POS: 1,
  PUB_SEQ: 2,
  EPOCH: 3,
  MAGIC: 16,
  VERSION: 17,
  SEGMENT_BYTES: 18,
  MAX_RECORD_BYTES: 19,
  TABLE_SLOTS: 20,
} as const;

/** 'WCRG' as a little-endian u32: tells a reader it was handed a ring control block. */
export const RING_MAGIC = 0x47524357;
/** Bumped whenever anything in this file changes meaning. */
export const LAYOUT_VERSION = 3;

/** Byte offsets of the record header fields. */
export const Rec = {
  LENGTH: 0,
  KIND: 4,
  FLAGS: 6,
  SEQ: 8,
  TRIGGER: 12,
  PREV_TRIGGER: 16,
  KEY_LENGTH: 20,
  OBJECT_LENGTH: 24,
  PREV_OBJECT_LENGTH: 28,
  RV: 32,
  ATTRIBUTES_LENGTH: 40,
  PREV_ATTRIBUTES_LENGTH: 44,
} as const;

export const RECORD_HEADER_BYTES = 48;
const RECORD_ALIGN = 8;
/** The smallest PAD: just `length` and `kind` (+ flags); see the PAD notes above. */
export const PAD_MIN_BYTES = 8;

export const RecordKind = {
  ADDED: 1,
  MODIFIED: 2,
  DELETED: 3,
  /** The cache revision advanced with no event for this resource (rv only, no key or bytes). */
  PROGRESS: 4,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

/** Tail filler at the end of a segment; never handed to a record consumer. */
export const PAD_KIND = 0xffff;

/** Bits of the record `flags` word. Bits 4..15 are reserved for later use (e.g. compression). */
export const RecordFlags = {
  /** Which encoding the object / prev bytes are in. */
  ENCODING_MASK: 0x000f,
  ENCODING_JSON: 0x0000,
  ENCODING_MSGPACK: 0x0001,
} as const;

/** Smallest segment: its largest record (SEG / 4 = 64 bytes) still holds a header (48) and a payload. */
export const MIN_SEGMENT_BYTES = 256;
/** Largest ring (all segments): keeps every in-window distance far below 2^31, where int32 comparisons flip. */
export const MAX_CAPACITY = 2 ** 30;

/**
 * The largest record a ring of `segmentBytes` segments accepts, header and padding included. A
 * quarter of a segment keeps a PAD plus the largest record under half the segment and leaves a
 * one-segment window room for several records.
 */
export function maxRecordBytes(segmentBytes: number): number {
  return segmentBytes / 4;
}

/** `n` rounded up to a multiple of 8; `n` must be below 2^31. */
export function align8(n: number): number {
  return (n + (RECORD_ALIGN - 1)) & ~(RECORD_ALIGN - 1);
}

/** Bytes a record with these payload sizes occupies (before any PAD in front of it). */
export function recordBytes(keyBytes: number, objectBytes: number, prevObjectBytes: number, attributeBytes = 0, prevAttributeBytes = 0): number {
  const raw = RECORD_HEADER_BYTES + keyBytes + objectBytes + prevObjectBytes + attributeBytes + prevAttributeBytes;
  // Oversized inputs would overflow align8's int32 arithmetic; they are refused anyway.
  return raw < 2 ** 31 - RECORD_ALIGN ? align8(raw) : raw;
}

/**
 * Signed distance from uint32 position `from` to `to`, modulo 2^32: positive when `to` is ahead.
 * Both arguments may be uint32 or the int32 reading of the same word.
 */
export function distance(from: number, to: number): number {
  return (to - from) | 0;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
