/**
 * Deterministic records for the multi-thread stress test: everything about record `seq` (key,
 * sizes, bytes, hashes, rv) is a function of `seq`, and the object carries a checksum, so a reader
 * on another thread can tell an intact record from a torn one without talking to the producer.
 * Loaded by the test (TypeScript through vitest) and by the worker (through tsx).
 */
import { RecordKind } from '../../src/ring/layout.js';
import type { RingRecordInput } from '../../src/ring/producer.js';
import type { RingRecord } from '../../src/ring/reader.js';
import { triggerHash } from '../../src/ring/trigger-hash.js';

/** rvs this large round-trip exactly through the f64 field only if nothing is truncated. */
export const STRESS_RV_BASE = 2 ** 52;
const SOURCE_BYTES = 1 << 14;
/** Object header: seq (u32) and checksum (u32). */
const OBJECT_HEADER = 8;

/** The pseudo-random bytes every payload is cut from (xorshift32, fixed seed). */
const source = (() => {
  const bytes = new Uint8Array(SOURCE_BYTES * 2);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
})();

function mix(seq: number): number {
  let h = Math.imul(seq ^ 0x5bd1e995, 0x27d4eb2d);
  h ^= h >>> 15;
  return h >>> 0;
}

function objectLength(seq: number): number {
  const m = mix(seq);
  // Mostly small, now and then large, so that PADs of many sizes occur.
  return OBJECT_HEADER + (m % 97 === 0 ? 4000 + (m % 4000) : m % 1200);
}

function prevLength(seq: number): number {
  return seq % 3 === 0 ? mix(seq + 1) % 600 : 0;
}

function sourceSlice(seed: number, length: number): Uint8Array {
  const start = seed % SOURCE_BYTES;
  return source.subarray(start, start + length);
}

function checksum(bytes: Uint8Array, from: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function keyOf(seq: number): string {
  return `/registry/pods/ns-${seq % 13}/pod-${seq}`;
}

function kindOf(seq: number): RecordKind {
  if (seq % 50 === 49) return RecordKind.PROGRESS;
  return ((seq % 3) + 1) as RecordKind;
}

/** The record with sequence number `seq`. Allocates; this is test code. */
export function stressRecord(seq: number): RingRecordInput {
  const kind = kindOf(seq);
  if (kind === RecordKind.PROGRESS) return { kind, rv: STRESS_RV_BASE + seq };
  const length = objectLength(seq);
  const object = new Uint8Array(length);
  object.set(sourceSlice(mix(seq), length - OBJECT_HEADER), OBJECT_HEADER);
  const header = new DataView(object.buffer);
  header.setUint32(0, seq, true);
  header.setUint32(4, checksum(object, OBJECT_HEADER), true);
  const input: RingRecordInput = {
    kind,
    rv: STRESS_RV_BASE + seq,
    key: keyOf(seq),
    object,
    triggerHash: triggerHash(`node-${seq % 7}`),
    prevTriggerHash: seq % 5 === 0 ? 0 : triggerHash(`node-${(seq + 1) % 7}`),
  };
  const prev = prevLength(seq);
  if (prev !== 0) input.prevObject = sourceSlice(mix(seq + 2), prev);
  return input;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Why `record` is not exactly stressRecord(record.seq), or undefined when it is. */
export function checkStressRecord(record: RingRecord): string | undefined {
  const seq = record.seq;
  const kind = kindOf(seq);
  if (record.kind !== kind) return `seq ${seq}: kind ${record.kind}, want ${kind}`;
  if (record.rv !== STRESS_RV_BASE + seq) return `seq ${seq}: rv ${record.rv}`;
  if (kind === RecordKind.PROGRESS) {
    const payload = record.keyLength + record.objectLength + record.prevObjectLength;
    return payload === 0 ? undefined : `seq ${seq}: progress with payload`;
  }
  if (record.key() !== keyOf(seq)) return `seq ${seq}: key ${JSON.stringify(record.key())}`;
  if (record.triggerHash !== triggerHash(`node-${seq % 7}`)) return `seq ${seq}: trigger hash`;
  const prevTrigger = seq % 5 === 0 ? 0 : triggerHash(`node-${(seq + 1) % 7}`);
  if (record.prevTriggerHash !== prevTrigger) return `seq ${seq}: prev trigger hash`;
  const object = record.object();
  if (object.length !== objectLength(seq)) return `seq ${seq}: object length ${object.length}`;
  const header = new DataView(object.buffer, object.byteOffset, OBJECT_HEADER);
  if (header.getUint32(0, true) !== seq) return `seq ${seq}: object says seq ${header.getUint32(0, true)}`;
  if (header.getUint32(4, true) !== checksum(object, OBJECT_HEADER)) return `seq ${seq}: object checksum`;
  const prev = sourceSlice(mix(seq + 2), prevLength(seq));
  if (!sameBytes(record.prevObject(), prev)) return `seq ${seq}: prev object`;
  return undefined;
}
