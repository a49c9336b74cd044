import { describe, expect, it } from 'vitest';
import { ErrorCodes, WatchCacheError } from '../../src/errors.js';
import { RECORD_HEADER_BYTES, RecordKind } from '../../src/ring/layout.js';
import { RingProducer } from '../../src/ring/producer.js';
import type { RingRecordInput } from '../../src/ring/producer.js';
import { RingReader, SCAN_LAPPED } from '../../src/ring/reader.js';
import { drain, sized } from './ring-helpers.js';

/** A record with key 'k' that takes exactly `total` bytes of the ring. */
function rec(rv: number, total: number): RingRecordInput {
  return sized(rv, total - RECORD_HEADER_BYTES - 1, 'k');
}

/** A 1 KiB ring holding eight 128-byte records, rv 1..8 at positions 0, 128, ..., 896. */
function fullRing(): { producer: RingProducer; reader: RingReader; evicted: Array<[number, number, number]> } {
  const evicted: Array<[number, number, number]> = [];
  const producer = new RingProducer({
    segmentBytes: 1024,
    onEvict: (rv, seq, position) => evicted.push([rv, seq, position]),
  });
  for (let rv = 1; rv <= 8; rv++) producer.append(rec(rv, 128));
  producer.publish();
  return { producer, reader: new RingReader(producer.buffers), evicted };
}

function lappedCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof WatchCacheError) return err.code;
    throw err;
  }
  return undefined;
}

describe('ring event window', () => {
  it('replays from the position of any record still in the window', () => {
    const { producer, reader } = fullRing();
    const positions = new Map<number, number>();
    for (let rv = 9; rv <= 10; rv++) positions.set(rv, producer.append(rec(rv, 128)));
    producer.publish();
    expect(drain(reader, positions.get(9)!).records.map((r) => r.rv)).toEqual([9, 10]);
    expect(drain(reader, producer.oldestPosition).records.map((r) => r.rv)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(producer.oldestRv()).toBe(3);
    expect(producer.lastEvictedRv).toBe(2);
  });

  it('reports every evicted record (rv, seq, position) oldest first, and none while there is room', () => {
    const { producer, evicted } = fullRing();
    expect(evicted).toEqual([]);
    expect(producer.lastEvictedRv).toBeUndefined();
    producer.append(rec(9, 256)); // needs two 128-byte records gone
    expect(evicted).toEqual([
      [1, 0, 0],
      [2, 1, 128],
    ]);
    // Evicted before publish: the window start moved for readers too, ahead of the new bytes.
    expect(new RingReader(producer.buffers).oldestPosition()).toBe(256);
    producer.append({ kind: RecordKind.PROGRESS, rv: 10 });
    expect(evicted.map(([rv]) => rv)).toEqual([1, 2, 3]);
    expect(producer.oldestRv()).toBe(4);
  });

  it('a reader lagging by exactly one record gets lapped and detects it; one record behind that is fine', () => {
    const { producer, reader } = fullRing();
    const first = 0;
    const second = 128;
    expect(reader.isLapped(first)).toBe(false);
    producer.append(rec(9, 128)); // evicts exactly the record at `first`
    producer.publish();
    expect(reader.isLapped(first)).toBe(true);
    expect(reader.isLapped(second)).toBe(false);
    expect(reader.scan(first, 100, () => {})).toBe(SCAN_LAPPED);
    expect(lappedCode(() => reader.read(first))).toBe(ErrorCodes.RING_LAPPED);
    expect(drain(reader, second).records.map((r) => r.rv)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('the window boundary is exact to the byte', () => {
    const { producer, reader } = fullRing();
    producer.append(rec(9, 128));
    producer.publish();
    const oldest = reader.oldestPosition();
    expect(oldest).toBe(128);
    expect(reader.isLapped(oldest)).toBe(false);
    expect(reader.isLapped(oldest - 1)).toBe(true);
    expect(reader.isLapped(reader.writePosition())).toBe(false);
  });

  it('a lapped reader resyncs to the window start, or to the write position for new events only', () => {
    const { producer, reader } = fullRing();
    let cursor = 0;
    for (let rv = 9; rv <= 20; rv++) producer.append(rec(rv, 128));
    producer.publish();
    expect(reader.scan(cursor, 4, () => {})).toBe(SCAN_LAPPED);

    cursor = reader.oldestPosition();
    const replay = drain(reader, cursor);
    expect(replay.records.map((r) => r.rv)).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);

    cursor = reader.writePosition();
    expect(reader.scan(cursor, 4, () => {})).toBe(cursor);
    producer.append(rec(21, 128));
    producer.publish();
    expect(drain(reader, cursor).records.map((r) => r.rv)).toEqual([21]);
  });

  it('a slice overwritten while it is being read comes back lapped, and nothing from it is vouched for', () => {
    const { producer, reader } = fullRing();
    const seen: number[] = [];
    let rv = 100;
    const result = reader.scan(0, 8, (record) => {
      seen.push(record.rv);
      // The producer runs "concurrently": it overwrites the slice under the reader's feet.
      if (seen.length === 2) for (let i = 0; i < 8; i++) producer.append(rec(rv++, 128));
    });
    expect(result).toBe(SCAN_LAPPED);
    // The reader either stopped at a torn header or read on; either way it did not return a position.
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it('an exception thrown on torn data in a lapped slice is swallowed; otherwise it propagates', () => {
    const { producer, reader } = fullRing();
    let rv = 100;
    const lapped = reader.scan(0, 8, () => {
      for (let i = 0; i < 8; i++) producer.append(rec(rv++, 128));
      throw new SyntaxError('torn JSON');
    });
    expect(lapped).toBe(SCAN_LAPPED);
    producer.publish();
    const start = reader.oldestPosition();
    expect(() =>
      reader.scan(start, 8, () => {
        throw new SyntaxError('a real bug');
      }),
    ).toThrow('a real bug');
  });

  it('publishes a pending batch before it would evict records readers were never shown', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    const reader = new RingReader(producer.buffers);
    for (let rv = 1; rv <= 12; rv++) producer.append(rec(rv, 128)); // 1.5 rings, one batch
    // The first 8 were published when the 9th needed room; the rest are pending.
    expect(reader.writePosition()).toBe(1024);
    expect(producer.hasUnpublished).toBe(true);
    expect(reader.oldestPosition()).toBe(512);
    expect(reader.oldestPosition() - reader.writePosition()).toBeLessThanOrEqual(0);
    producer.publish();
    expect(drain(reader, reader.oldestPosition()).records.map((r) => r.rv)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reset bumps the epoch, empties the window, laps every old position, and wakes waiters', async () => {
    const { producer, reader, evicted } = fullRing();
    const epoch = reader.epoch();
    const seq = reader.publishSeq();
    const woken = reader.waitForPublish(seq, 60_000);
    const tail = reader.writePosition();
    producer.append(rec(9, 128)); // pending: dropped by the reset
    const evictedBefore = evicted.length;
    const start = producer.reset();

    await expect(woken).resolves.toBe('ok');
    expect(reader.epoch()).toBe(epoch + 1);
    expect(producer.epoch).toBe(epoch + 1);
    expect(start).toBe(2048); // the next lap start strictly after everything handed out
    expect(reader.oldestPosition()).toBe(start);
    expect(reader.writePosition()).toBe(start);
    expect(producer.bytesInUse).toBe(0);
    expect(producer.oldestRv()).toBeUndefined();
    expect(producer.lastEvictedRv).toBeUndefined();
    expect(evicted.length).toBe(evictedBefore); // a reset is not an eviction
    // Even a reader that was fully caught up is told: its position is outside the new window.
    expect(reader.isLapped(tail)).toBe(true);
    expect(reader.isLapped(0)).toBe(true);
    expect(reader.scan(tail, 10, () => {})).toBe(SCAN_LAPPED);

    producer.append(rec(50, 128));
    producer.publish();
    expect(drain(reader, reader.oldestPosition()).records.map((r) => r.rv)).toEqual([50]);
  });

  it('reset near the top of the uint32 range wraps the new start to 0', () => {
    const producer = new RingProducer({ segmentBytes: 1024, initialPosition: 0xffff_fc00 + 64 });
    producer.append(rec(1, 128));
    producer.publish();
    expect(producer.reset()).toBe(0);
    const reader = new RingReader(producer.buffers);
    expect(reader.isLapped(0xffff_fc00 + 64)).toBe(true);
    expect(reader.isLapped(0)).toBe(false);
  });
});
