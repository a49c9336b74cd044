import { describe, expect, it } from 'vitest';
import { PAD_KIND, PAD_MIN_BYTES, RECORD_HEADER_BYTES, Rec } from '../../src/ring/layout.js';
import { RingProducer } from '../../src/ring/producer.js';
import type { RingRecordInput } from '../../src/ring/producer.js';
import { RingReader } from '../../src/ring/reader.js';
import { drain, sized } from './ring-helpers.js';
import { AttributeCodec } from '../../src/ring/attributes.js';
import { RecordKind } from '../../src/ring/layout.js';
import { SCAN_LAPPED } from '../../src/ring/reader.js';
import { AttributeReader } from '../../src/select/predicate.js';

/** A record with key 'k' that takes exactly `total` bytes of the ring. */
function rec(rv: number, total: number): RingRecordInput {
  return sized(rv, total - RECORD_HEADER_BYTES - 1, 'k');
}

describe('ring wrap-around', () => {
  it('pads the tail when a record does not fit before the end, and readers skip the padding', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    const reader = new RingReader(producer.buffers);
    const view = new DataView(producer.buffers.segments[0]!.data);
    // 4 records of 224 bytes leave a 128-byte tail; the next record needs 192.
    for (let rv = 1; rv <= 4; rv++) producer.append(rec(rv, 224));
    const pos = producer.append(rec(5, 192));
    producer.publish();

    expect(pos).toBe(1024); // started at offset 0 of the next lap
    expect(view.getUint16(896 + Rec.KIND, true)).toBe(PAD_KIND);
    expect(view.getUint32(896 + Rec.LENGTH, true)).toBe(128);
    expect(producer.writePosition).toBe(1024 + 192);
    // The PAD counted against the window: rv 1 had to go to make room.
    expect(producer.oldestPosition).toBe(224);

    const { records, end } = drain(reader, producer.oldestPosition);
    expect(records.map((r) => r.rv)).toEqual([2, 3, 4, 5]);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(end).toBe(producer.writePosition);
    // read() and next() from the padding's position land on the record after it.
    expect(reader.read(896)?.rv).toBe(5);
    expect(reader.read(896)?.position).toBe(1024);
    expect(reader.next(896)).toBe(1024 + 192);
  });

  it('recognises a minimal 8-byte pad, smaller than a record header', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    const reader = new RingReader(producer.buffers);
    const view = new DataView(producer.buffers.segments[0]!.data);
    // 3 × 256 + 248 = 1016 bytes, leaving a tail of 8.
    for (let rv = 1; rv <= 3; rv++) producer.append(rec(rv, 256));
    producer.append(rec(4, 248));
    producer.publish();
    expect(producer.writePosition).toBe(1016);
    const pos = producer.append(rec(5, 64));
    producer.publish();

    expect(PAD_MIN_BYTES).toBeLessThan(RECORD_HEADER_BYTES);
    expect(view.getUint32(1016 + Rec.LENGTH, true)).toBe(8);
    expect(view.getUint16(1016 + Rec.KIND, true)).toBe(PAD_KIND);
    expect(pos).toBe(1024);
    const { records } = drain(reader, producer.oldestPosition);
    expect(records.map((r) => r.rv)).toEqual([2, 3, 4, 5]);
  });

  it('places a record that exactly fills the tail without any padding', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    const reader = new RingReader(producer.buffers);
    for (let rv = 1; rv <= 3; rv++) producer.append(rec(rv, 256));
    const last = producer.append(rec(4, 256));
    const next = producer.append(rec(5, 64));
    producer.publish();
    expect(last).toBe(768);
    expect(next).toBe(1024);
    expect(reader.read(last)?.next).toBe(1024);
    expect(drain(reader, producer.oldestPosition).records.map((r) => r.rv)).toEqual([2, 3, 4, 5]);
  });

  it('accepts a record that exactly fills the free space, evicting nothing, and evicts on the next one', () => {
    const evicted: number[] = [];
    const producer = new RingProducer({ segmentBytes: 1024, onEvict: (rv) => evicted.push(rv) });
    const reader = new RingReader(producer.buffers);
    producer.append(rec(1, 256));
    producer.append(rec(2, 200));
    producer.append(rec(3, 256));
    producer.publish();
    expect(1024 - producer.bytesInUse).toBe(312);
    // 312 is more than one record may take (256): fill it with 56 bytes, then exactly 256.
    producer.append(rec(4, 56));
    producer.append(rec(5, 256));
    producer.publish();

    expect(evicted).toEqual([]);
    expect(producer.bytesInUse).toBe(1024);
    expect(producer.writePosition - producer.oldestPosition).toBe(1024);
    expect(producer.oldestPosition).toBe(0);
    expect(drain(reader, 0).records.map((r) => r.rv)).toEqual([1, 2, 3, 4, 5]);
    expect(reader.isLapped(0)).toBe(false);

    // The smallest further record evicts whole records, just enough of them: only the oldest.
    producer.append(rec(6, 56));
    producer.publish();
    expect(evicted).toEqual([1]);
    expect(producer.oldestPosition).toBe(256);
    expect(reader.isLapped(0)).toBe(true);
    expect(drain(reader, 256).records.map((r) => r.rv)).toEqual([2, 3, 4, 5, 6]);
  });

  it('keeps positions right across the uint32 wrap (start at 0xFFFF_F000)', () => {
    const start = 0xffff_f000;
    const evicted: number[] = [];
    const producer = new RingProducer({ segmentBytes: 1024, initialPosition: start, onEvict: (rv) => evicted.push(rv) });
    const reader = new RingReader(producer.buffers);
    const positions: number[] = [];
    let cursor = start;
    const seen: number[] = [];
    // 4 KiB before the wrap and as much after: 80 records of 104 bytes, read as they come.
    for (let rv = 1; rv <= 80; rv++) {
      positions.push(producer.append(rec(rv, 104)));
      producer.publish();
      const { records, end } = drain(reader, cursor);
      seen.push(...records.map((r) => r.rv));
      cursor = end;
    }
    expect(seen).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(positions.every((p) => Number.isInteger(p) && p >= 0 && p < 2 ** 32 && p % 8 === 0)).toBe(true);
    const wrapped = positions.findIndex((p) => p < start);
    expect(wrapped).toBeGreaterThan(0);
    expect(positions[wrapped - 1]).toBeGreaterThan(0xffff_ff00 - 1024);
    expect(producer.writePosition).toBeLessThan(start); // wrapped past 2^32
    expect(producer.writePosition).toBe(cursor);
    expect(producer.bytesInUse).toBeLessThanOrEqual(1024);
    expect(producer.bytesInUse).toBeGreaterThan(1024 - 104 - 104);
    expect(producer.oldestRv()).toBe(evicted.at(-1)! + 1);

    // Positions on both sides of 2^32 compare as they should.
    const oldest = producer.oldestPosition;
    expect(reader.isLapped(oldest)).toBe(false);
    expect(reader.isLapped((oldest - 8) >>> 0)).toBe(true);
    expect(reader.isLapped(positions[0]!)).toBe(true);
    expect(reader.isLapped(producer.writePosition)).toBe(false);
    const { records } = drain(reader, oldest);
    expect(records.at(-1)?.rv).toBe(80);
    expect(records[0]?.rv).toBe(evicted.at(-1)! + 1);
  });

  it('carries attribute sections intact through padded tails and the uint32 wrap', () => {
    const start = 0xffff_f000;
    const producer = new RingProducer({ segmentBytes: 2048, initialPosition: start });
    const reader = new RingReader(producer.buffers);
    const attributeReader = new AttributeReader(['spec.nodeName']);
    const codec = new AttributeCodec(attributeReader.fields);
    const pod = (i: number): Record<string, unknown> => ({ metadata: { name: `p${i}`, namespace: 'ns', labels: { n: 'x'.repeat(i % 40) } }, spec: { nodeName: `node-${i}` } });
    let cursor = start;
    let padded = 0;
    for (let rv = 1; rv <= 120; rv++) {
      // Varied sizes (so tails get padded), each a MODIFIED carrying both objects and both sections.
      const object = Buffer.from(JSON.stringify(pod(rv)));
      const prevObject = Buffer.from(JSON.stringify(pod(rv - 1)));
      producer.append({
        kind: RecordKind.MODIFIED,
        rv,
        key: `k${rv}`,
        object,
        prevObject,
        attributes: codec.encode(attributeReader.read(pod(rv))),
        prevAttributes: codec.encode(attributeReader.read(pod(rv - 1))),
      });
      producer.publish();
      let visited = 0;
      const end = reader.scan(cursor, 10, (record) => {
        visited++;
        if (record.position !== cursor) padded++;
        expect(codec.decode(record.attributes())).toEqual(attributeReader.read(pod(record.rv)));
        expect(codec.decode(record.prevAttributes())).toEqual(attributeReader.read(pod(record.rv - 1)));
        expect(JSON.parse(Buffer.from(record.prevObject()).toString())).toEqual(pod(record.rv - 1));
      });
      expect(end).not.toBe(SCAN_LAPPED);
      expect(visited).toBe(1);
      cursor = end;
    }
    expect(padded).toBeGreaterThan(0);
    expect(producer.writePosition).toBeLessThan(start); // wrapped past 2^32
  });
});
