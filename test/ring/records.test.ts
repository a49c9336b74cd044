import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { RECORD_HEADER_BYTES, RecordFlags, RecordKind, recordBytes } from '../../src/ring/layout.js';
import { RingProducer } from '../../src/ring/producer.js';
import type { RingRecordInput } from '../../src/ring/producer.js';
import { RingReader } from '../../src/ring/reader.js';
import { triggerHash } from '../../src/ring/trigger-hash.js';
import { AttributeCodec } from '../../src/ring/attributes.js';
import { AttributeReader } from '../../src/select/predicate.js';
import { bytes, drain } from './ring-helpers.js';
import { codeOf } from '../helpers/errors.js';

describe('ring records', () => {
  it('round-trip key, object, previous object, trigger hashes, flags and an rv up to 2^53 - 1', () => {
    const producer = new RingProducer({ segmentBytes: 4096 });
    const reader = new RingReader(producer.buffers);
    const key = '/registry/pods/kube-system/coredns-ä✓𝄞';
    const object = bytes('{"metadata":{"name":"coredns"},"spec":{"nodeName":"node-1"}}');
    const prevObject = bytes('{"metadata":{"name":"coredns"},"spec":{"nodeName":"node-0"}}');
    const pos = producer.append({
      kind: RecordKind.MODIFIED,
      rv: Number.MAX_SAFE_INTEGER,
      key,
      object,
      prevObject,
      triggerHash: triggerHash('node-1'),
      prevTriggerHash: triggerHash('node-0'),
      flags: RecordFlags.ENCODING_MSGPACK,
    });
    producer.publish();

    const record = reader.read(pos);
    expect(record).not.toBeNull();
    expect(record!.kind).toBe(RecordKind.MODIFIED);
    expect(record!.rv).toBe(Number.MAX_SAFE_INTEGER);
    expect(record!.key()).toBe(key);
    expect(record!.keyLength).toBe(Buffer.byteLength(key));
    expect(record!.object()).toEqual(object);
    expect(record!.prevObject()).toEqual(prevObject);
    expect(record!.triggerHash).toBe(triggerHash('node-1'));
    expect(record!.prevTriggerHash).toBe(triggerHash('node-0'));
    expect(record!.flags & RecordFlags.ENCODING_MASK).toBe(RecordFlags.ENCODING_MSGPACK);
    expect(record!.seq).toBe(0);
    expect(record!.position).toBe(pos);
    expect(record!.next).toBe(pos + recordBytes(Buffer.byteLength(key), object.length, prevObject.length));
    expect(record!.next).toBe(producer.writePosition);
    expect(reader.isLapped(pos)).toBe(false);
  });

  it('round-trip the attribute sections of the object and the previous object, after the payloads', () => {
    const producer = new RingProducer({ segmentBytes: 4096 });
    const reader = new RingReader(producer.buffers);
    const attributeReader = new AttributeReader(['spec.nodeName']);
    const codec = new AttributeCodec(attributeReader.fields);
    const objectJson = { metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: { app: 'web' } }, spec: { nodeName: 'node-1' } };
    const prevJson = { metadata: { name: 'p', namespace: 'ns', uid: 'u-1' }, spec: { nodeName: 'node-0' } };
    const object = bytes(JSON.stringify(objectJson));
    const prevObject = bytes(JSON.stringify(prevJson));
    const attributes = codec.encode(attributeReader.read(objectJson));
    const prevAttributes = codec.encode(attributeReader.read(prevJson));
    const pos = producer.append({ kind: RecordKind.MODIFIED, rv: 7, key: 'k', object, prevObject, attributes, prevAttributes });
    const added = producer.append({ kind: RecordKind.ADDED, rv: 8, key: 'k2', object, attributes });
    producer.publish();

    const record = reader.read(pos)!;
    expect(record.attributesLength).toBe(attributes.length);
    expect(record.prevAttributesLength).toBe(prevAttributes.length);
    expect(record.object()).toEqual(object);
    expect(record.prevObject()).toEqual(prevObject);
    expect(codec.decode(record.attributes())).toEqual(attributeReader.read(objectJson));
    expect(codec.decode(record.prevAttributes())).toEqual(attributeReader.read(prevJson));
    expect(record.next).toBe(pos + recordBytes(1, object.length, prevObject.length, attributes.length, prevAttributes.length));
    expect(record.next).toBe(added);

    const second = reader.read(added)!;
    expect(second.prevAttributesLength).toBe(0);
    expect(second.prevAttributes()).toHaveLength(0);
    expect(codec.decode(second.attributes())).toEqual(attributeReader.read(objectJson));
    expect(second.next).toBe(producer.writePosition);
  });

  it('round-trip every kind, including PROGRESS records that carry only an rv, with consecutive seqs', () => {
    const producer = new RingProducer({ segmentBytes: 4096, initialSeq: 0xffff_fffe });
    const reader = new RingReader(producer.buffers);
    const inputs: RingRecordInput[] = [
      { kind: RecordKind.ADDED, rv: 10, key: 'a', object: bytes('{"a":1}') },
      { kind: RecordKind.MODIFIED, rv: 11, key: 'a', object: bytes('{"a":2}'), prevObject: bytes('{"a":1}') },
      { kind: RecordKind.PROGRESS, rv: 12 },
      { kind: RecordKind.DELETED, rv: 13, key: 'a', object: bytes('{"a":2}'), prevObject: bytes('{"a":2}') },
    ];
    for (const input of inputs) producer.append(input);
    producer.publish();

    const { records, end } = drain(reader, 0);
    expect(end).toBe(producer.writePosition);
    expect(records.map((r) => [r.kind, r.rv, r.key, r.object, r.prevObject])).toEqual([
      [RecordKind.ADDED, 10, 'a', '{"a":1}', ''],
      [RecordKind.MODIFIED, 11, 'a', '{"a":2}', '{"a":1}'],
      [RecordKind.PROGRESS, 12, '', '', ''],
      [RecordKind.DELETED, 13, 'a', '{"a":2}', '{"a":2}'],
    ]);
    // The sequence number wraps like the positions do.
    expect(records.map((r) => r.seq)).toEqual([0xffff_fffe, 0xffff_ffff, 0, 1]);
    expect(producer.nextSeq).toBe(2);
    const progress = records[2]!;
    expect(progress.next - progress.position).toBe(RECORD_HEADER_BYTES);
  });

  it('a reader attaches to a structured clone of the buffers, as a worker receives them', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    const reader = new RingReader(structuredClone(producer.buffers));
    const pos = producer.append({ kind: RecordKind.ADDED, rv: 5, key: 'k', object: bytes('v') });
    expect(reader.read(pos)).toBeNull(); // appended, not published
    producer.publish();
    expect(reader.read(pos)?.key()).toBe('k');
  });

  it('refuses a record larger than a quarter of the ring with WC_ERR_RECORD_TOO_LARGE and stays usable', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    expect(producer.maxRecordBytes).toBe(256);
    const fits = new Uint8Array(256 - RECORD_HEADER_BYTES - 1); // key 'k' takes the last byte
    const tooBig = new Uint8Array(fits.length + 1);
    expect(codeOf(() => producer.append({ kind: RecordKind.ADDED, rv: 1, key: 'k', object: tooBig }))).toBe(
      ErrorCodes.RECORD_TOO_LARGE,
    );
    expect(producer.appendPosition).toBe(0);
    expect(producer.nextSeq).toBe(0);

    const pos = producer.append({ kind: RecordKind.ADDED, rv: 1, key: 'k', object: fits });
    producer.publish();
    const reader = new RingReader(producer.buffers);
    const record = reader.read(pos);
    expect(record?.next).toBe(256);
    expect(record?.objectLength).toBe(fits.length);
  });

  it('counts the attribute sections toward the maximum record size', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    const attributes = new Uint8Array(40).fill(1);
    const prevAttributes = new Uint8Array(24).fill(2);
    const object = new Uint8Array(64).fill(3);
    // 48 header + 1 key + 64 + 64 + 40 + 24 = 241, and 15 more bytes of previous object make 256.
    const prevObject = new Uint8Array(15).fill(4);
    const input: RingRecordInput = { kind: RecordKind.MODIFIED, rv: 1, key: 'k', object: Buffer.concat([object, object]), prevObject, attributes, prevAttributes };
    expect(codeOf(() => producer.append({ ...input, prevObject: new Uint8Array(16) }))).toBe(ErrorCodes.RECORD_TOO_LARGE);
    const pos = producer.append(input);
    producer.publish();
    const record = new RingReader(producer.buffers).read(pos)!;
    expect(record.next - record.position).toBe(256);
    expect(record.attributes()).toEqual(attributes);
    expect(record.prevAttributes()).toEqual(prevAttributes);
    expect(record.prevObject()).toEqual(prevObject);
  });

  it('refuses malformed records and options with WC_ERR_INVALID', () => {
    const producer = new RingProducer({ segmentBytes: 1024 });
    const bad: unknown[] = [
      { kind: 0, rv: 1 },
      { kind: 0xffff, rv: 1 },
      { kind: RecordKind.ADDED, rv: -1 },
      { kind: RecordKind.ADDED, rv: 1.5 },
      { kind: RecordKind.ADDED, rv: 2 ** 53 },
      { kind: RecordKind.ADDED, rv: 1, flags: 0x1_0000 },
      { kind: RecordKind.ADDED, rv: 1, triggerHash: -1 },
      { kind: RecordKind.ADDED, rv: 1, key: 'k', attributes: new Uint8Array(16) }, // attributes without the object
      { kind: RecordKind.MODIFIED, rv: 1, key: 'k', object: bytes('{}'), prevAttributes: new Uint8Array(16) },
    ];
    for (const input of bad) {
      expect(codeOf(() => producer.append(input as RingRecordInput))).toBe(ErrorCodes.INVALID);
    }
    for (const options of [
      { segmentBytes: 1000 },
      { segmentBytes: 128 },
      { segmentBytes: 2 ** 31 },
      { segmentBytes: 1024, minSegments: 0 },
      { segmentBytes: 1024, minSegments: 2, maxSegments: 1 },
      { segmentBytes: 2 ** 29, maxSegments: 4 },
      { segmentBytes: 256, maxSegments: 1025 },
      { segmentBytes: 1024, initialPosition: 4 },
      { segmentBytes: 1024, initialPosition: 2 ** 32 },
      { segmentBytes: 1024, initialSeq: -1 },
    ]) {
      expect(codeOf(() => new RingProducer(options))).toBe(ErrorCodes.INVALID);
    }
    const other = new RingProducer({ segmentBytes: 2048 });
    expect(codeOf(() => new RingReader({ control: producer.buffers.control, segments: other.buffers.segments }))).toBe(
      ErrorCodes.INVALID,
    );
    expect(
      codeOf(() => new RingReader({ control: new SharedArrayBuffer(128), segments: producer.buffers.segments })),
    ).toBe(ErrorCodes.INVALID);
  });
});
