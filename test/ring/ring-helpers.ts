/** Small helpers shared by the single-threaded ring tests. */
import { RecordKind } from '../../src/ring/layout.js';
import type { RingRecordInput } from '../../src/ring/producer.js';
import { RingReader, SCAN_LAPPED } from '../../src/ring/reader.js';
import type { RingRecord } from '../../src/ring/reader.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A record whose object is `size` bytes of a pattern derived from `rv`. */
export function sized(rv: number, size: number, key = `/registry/pods/default/p${rv}`): RingRecordInput {
  const object = new Uint8Array(size);
  for (let i = 0; i < size; i++) object[i] = (rv * 31 + i) & 0xff;
  return { kind: RecordKind.MODIFIED, rv, key, object };
}

/** A plain snapshot of a record view, safe to keep after validation. */
export interface Seen {
  position: number;
  next: number;
  kind: number;
  flags: number;
  seq: number;
  rv: number;
  triggerHash: number;
  prevTriggerHash: number;
  key: string;
  object: string;
  prevObject: string;
  objectBytes: Uint8Array;
  prevObjectBytes: Uint8Array;
}

export function snapshot(record: RingRecord): Seen {
  // Copies: the views into shared memory are valid only until the record is overwritten.
  const objectBytes = record.object().slice();
  const prevObjectBytes = record.prevObject().slice();
  return {
    position: record.position,
    next: record.next,
    kind: record.kind,
    flags: record.flags,
    seq: record.seq,
    rv: record.rv,
    triggerHash: record.triggerHash,
    prevTriggerHash: record.prevTriggerHash,
    key: record.key(),
    object: decoder.decode(objectBytes),
    prevObject: decoder.decode(prevObjectBytes),
    objectBytes,
    prevObjectBytes,
  };
}

/** Everything published from `pos` on, validated, and the position after it; throws if lapped. */
export function drain(reader: RingReader, pos: number): { records: Seen[]; end: number } {
  const records: Seen[] = [];
  let at = pos;
  for (;;) {
    const next = reader.scan(at, 3, (record) => records.push(snapshot(record)));
    if (next === SCAN_LAPPED) throw new Error(`lapped while draining from ${at}`);
    if (next === at) return { records, end: at };
    at = next;
  }
}
