/**
 * The ring as a chain of segments: growing by a segment instead of evicting, recycling the oldest
 * one at the cap, dropping one (shrink), readers crossing segment boundaries and learning of new
 * segments late, and the old edge cases (uint32 wrap, lap, reset) with several segments.
 */
import { describe, expect, it } from 'vitest';
import { MAX_SEGMENTS, RECORD_HEADER_BYTES, SEG_TABLE } from '../../src/ring/layout.js';
import { RingProducer, type RingProducerOptions, type RingRecordInput, type RingSegment } from '../../src/ring/producer.js';
import { RingReader, SCAN_LAPPED } from '../../src/ring/reader.js';
import { drain, sized } from './ring-helpers.js';

/** A record with key 'k' that takes exactly `total` bytes of the ring. */
function rec(rv: number, total: number): RingRecordInput {
  return sized(rv, total - RECORD_HEADER_BYTES - 1, 'k');
}

interface Harness {
  producer: RingProducer;
  evicted: number[];
  announced: Array<readonly RingSegment[]>;
  /** Whether the next segment should be a new one. */
  grow: { answer: boolean; asked: number[] };
}

function ring(options: Partial<RingProducerOptions> = {}): Harness {
  const evicted: number[] = [];
  const announced: Array<readonly RingSegment[]> = [];
  const grow = { answer: true, asked: [] as number[] };
  const producer = new RingProducer({
    segmentBytes: 1024,
    minSegments: 1,
    maxSegments: 4,
    shouldGrow: (oldestEnd) => {
      grow.asked.push(oldestEnd);
      return grow.answer;
    },
    onSegments: (segments) => announced.push(segments),
    onEvict: (rv) => evicted.push(rv),
    ...options,
  });
  return { producer, evicted, announced, grow };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('ring segments', () => {
  it('grows by a segment instead of evicting while the policy says so, and readers read across the boundaries', () => {
    const { producer, evicted, announced, grow } = ring();
    const reader = new RingReader(producer.buffers);
    // 8 records of 128 bytes fill a 1 KiB segment; 24 need three.
    for (let rv = 1; rv <= 24; rv++) producer.append(rec(rv, 128));
    producer.publish();
    expect(evicted).toEqual([]);
    expect(producer.segmentCount).toBe(3);
    expect(producer.capacity).toBe(3072);
    // Asked at each new segment, with the end of the oldest segment (still the first one).
    expect(grow.asked).toEqual([1024, 1024]);
    expect(announced.map((set) => set.length)).toEqual([2, 3]);
    reader.attach(announced.at(-1)!);
    const { records, end } = drain(reader, producer.oldestPosition);
    expect(records.map((r) => r.rv)).toEqual(range(1, 24));
    expect(records.every((r, i) => r.object === new TextDecoder().decode(rec(i + 1, 128).object))).toBe(true);
    expect(end).toBe(producer.writePosition);
  });

  it('recycles the oldest segment when the policy says no: a ring of k segments evicts like one buffer of k segments', () => {
    const { producer, evicted, grow } = ring();
    for (let rv = 1; rv <= 16; rv++) producer.append(rec(rv, 128));
    grow.answer = false;
    producer.append(rec(17, 128));
    producer.publish();
    // Into the first segment again: only the one record it overwrites leaves.
    expect(producer.segmentCount).toBe(2);
    expect(evicted).toEqual([1]);
    const reader = new RingReader(producer.buffers);
    expect(drain(reader, producer.oldestPosition).records.map((r) => r.rv)).toEqual(range(2, 17));
  });

  it('at the memory cap it recycles even when the policy would grow', () => {
    const { producer, evicted } = ring({ maxSegments: 2 });
    for (let rv = 1; rv <= 17; rv++) producer.append(rec(rv, 128));
    producer.publish();
    expect(producer.segmentCount).toBe(2);
    expect(producer.capacity).toBe(2048);
    expect(evicted).toEqual([1]);
  });

  it('drops the oldest segment: its records are evicted, its positions read as lapped, and readers release it', () => {
    const { producer, evicted, announced } = ring();
    const reader = new RingReader(producer.buffers);
    for (let rv = 1; rv <= 20; rv++) producer.append(rec(rv, 128));
    producer.publish();
    reader.attach(announced.at(-1)!);
    expect(reader.segmentCount).toBe(3);
    const old = producer.oldestPosition;
    expect(producer.dropOldestSegment()).toBe(true);
    expect(evicted).toEqual(range(1, 8));
    expect(producer.segmentCount).toBe(2);
    expect(producer.oldestPosition).toBe(1024);
    expect(reader.isLapped(old)).toBe(true);
    expect(reader.scan(old, 10, () => undefined)).toBe(SCAN_LAPPED);
    expect(drain(reader, producer.oldestPosition).records.map((r) => r.rv)).toEqual(range(9, 20));
    reader.attach(announced.at(-1)!);
    expect(reader.segmentCount).toBe(2);
    expect(producer.buffers.segments.map((s) => s.id)).toEqual(announced.at(-1)!.map((s) => s.id));
    // Not below minSegments, and the write segment is never dropped.
    expect(producer.dropOldestSegment()).toBe(true);
    expect(producer.dropOldestSegment()).toBe(false);
    expect(producer.segmentCount).toBe(1);
    expect(drain(reader, producer.oldestPosition).records.map((r) => r.rv)).toEqual(range(17, 20));
  });

  it('publishes pending records before a drop evicts them (I6)', () => {
    const { producer, evicted } = ring();
    for (let rv = 1; rv <= 10; rv++) producer.append(rec(rv, 128));
    expect(producer.hasUnpublished).toBe(true);
    producer.dropOldestSegment();
    expect(producer.hasUnpublished).toBe(false);
    expect(producer.writePosition).toBe(producer.appendPosition);
    expect(evicted).toEqual(range(1, 8));
  });

  it('a reader that has not been given a new segment stops at its start, and goes on once it is attached', () => {
    const { producer, announced } = ring();
    const reader = new RingReader(producer.buffers);
    for (let rv = 1; rv <= 12; rv++) producer.append(rec(rv, 128));
    producer.publish();
    const seen: number[] = [];
    const stop = reader.scan(0, 100, (r) => seen.push(r.rv));
    expect(seen).toEqual(range(1, 8));
    expect(stop).toBe(1024);
    expect(reader.scan(stop, 100, () => undefined)).toBe(stop);
    expect(reader.read(stop)).toBeNull();
    expect(reader.next(stop)).toBe(stop);
    reader.attach(announced.at(-1)!);
    expect(drain(reader, stop).records.map((r) => r.rv)).toEqual(range(9, 12));
  });

  it('grows after a recycle: what is left of the number being recycled is evicted, so no two window positions share bytes', () => {
    const { producer, evicted, grow } = ring();
    const reader = new RingReader(producer.buffers);
    // Two segments of 8 records; then recycle the first with 776 bytes, which evicts records 1..7
    // (they start before 776) and leaves record 8 (at 896) in the window.
    for (let rv = 1; rv <= 16; rv++) producer.append(rec(rv, 128));
    grow.answer = false;
    for (const [rv, size] of [[17, 256], [18, 256], [19, 200], [20, 64]] as const) producer.append(rec(rv, size));
    expect(evicted).toEqual(range(1, 7));
    grow.answer = true;
    producer.append(rec(21, 256)); // pads the 248-byte tail, enters a new, third segment
    producer.publish();
    expect(producer.segmentCount).toBe(3);
    // Record 8 shared its segment's bytes with the padded tail: it went with the growth, nothing newer did.
    expect(evicted).toEqual(range(1, 8));
    reader.attach(producer.buffers.segments);
    expect(drain(reader, producer.oldestPosition).records.map((r) => r.rv)).toEqual(range(9, 21));
  });

  it('keeps the window intact through a seeded mix of grow, recycle and drop, across the uint32 wrap', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const { producer, evicted, grow } = ring({ maxSegments: 6, initialPosition: 2 ** 32 - 8 * 1024 });
    const reader = new RingReader(producer.buffers);
    let rv = 0;
    for (let round = 0; round < 400; round++) {
      grow.answer = random() < 0.3;
      const n = 1 + Math.floor(random() * 6);
      for (let i = 0; i < n; i++) producer.append(rec(++rv, 8 * (7 + Math.floor(random() * 24))));
      producer.publish();
      if (random() < 0.15) producer.dropOldestSegment();
      reader.attach(producer.buffers.segments);
      // I1, I4: the window fits the ring, tiles from the start to the write position, and holds
      // exactly the records not reported evicted, in order and intact.
      const window = (producer.writePosition - producer.oldestPosition) >>> 0;
      expect(window).toBeLessThanOrEqual(producer.capacity);
      expect(producer.capacity).toBe(producer.segmentCount * 1024);
      const { records, end } = drain(reader, producer.oldestPosition);
      expect(end).toBe(producer.writePosition);
      const first = (evicted.at(-1) ?? 0) + 1;
      expect(records.map((r) => r.rv)).toEqual(range(first, rv));
      for (const r of records) expect(r.objectBytes).toEqual(rec(r.rv, r.next - r.position).object);
      // The table names only current segments: a dropped one is gone from every slot it ever had.
      const ids = new Set(producer.buffers.segments.map((segment) => segment.id));
      const table = new Int32Array(producer.buffers.control, SEG_TABLE * 4, MAX_SEGMENTS);
      for (const id of table) if (id !== 0) expect(ids.has(id)).toBe(true);
    }
    // The positions wrapped past 2^32 on the way.
    expect(producer.writePosition).toBeLessThan(2 ** 31);
    expect(evicted).toEqual(range(1, evicted.length));
  });

  it('reset keeps the segments, starts at the next segment boundary, and makes every old position lapped', () => {
    const { producer, grow } = ring();
    const reader = new RingReader(producer.buffers);
    for (let rv = 1; rv <= 20; rv++) producer.append(rec(rv, 128));
    producer.publish();
    reader.attach(producer.buffers.segments);
    const start = producer.reset();
    // The spare numbers behind the new window hold nothing: a policy recycles them.
    grow.answer = false;
    expect(start).toBe(3072);
    expect(producer.segmentCount).toBe(3);
    expect(reader.isLapped(0)).toBe(true);
    expect(reader.isLapped(2048)).toBe(true);
    for (let rv = 21; rv <= 40; rv++) producer.append(rec(rv, 128));
    producer.publish();
    expect(producer.segmentCount).toBe(3);
    expect(drain(reader, start).records.map((r) => r.rv)).toEqual(range(21, 40));
  });

  it('a reader attached from the live buffers later (a replaced worker) gets the segments of that moment', () => {
    const { producer } = ring();
    const config = { ring: producer.buffers };
    for (let rv = 1; rv <= 20; rv++) producer.append(rec(rv, 128));
    producer.publish();
    const late = new RingReader(structuredClone(config.ring));
    expect(late.segmentCount).toBe(3);
    expect(drain(late, producer.oldestPosition).records.map((r) => r.rv)).toEqual(range(1, 20));
  });
});
