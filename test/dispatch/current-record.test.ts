/**
 * The record a dispatcher looks at: attributes come from the record's sections (no JSON parse);
 * JSON frames are made of the record's bytes, the DELETED of a MODIFIED that stopped matching
 * from the previous bytes with the record's RV spliced in; codecs that take decoded objects get
 * the object parsed once per record.
 */
import { unpack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { codecFor } from '../../src/encode/codecs.js';
import { CurrentRecord } from '../../src/dispatch/current-record.js';
import { AttributeCodec } from '../../src/ring/attributes.js';
import { RecordKind } from '../../src/ring/layout.js';
import { RingProducer } from '../../src/ring/producer.js';
import { RingReader, type RingRecord } from '../../src/ring/reader.js';
import { AttributeReader } from '../../src/select/predicate.js';

const reader = new AttributeReader(['spec.nodeName']);
const sections = new AttributeCodec(reader.fields);
const before = { metadata: { name: 'a', namespace: 'ns', uid: 'u', resourceVersion: '5', labels: { app: 'web' } }, spec: { nodeName: 'n1' } };
const after = { metadata: { name: 'a', namespace: 'ns', uid: 'u', resourceVersion: '6', labels: { app: 'db' } }, spec: { nodeName: 'n2' } };

/** A MODIFIED record at rv 6, as the watch cache writes it. */
function modified(): RingRecord {
  const producer = new RingProducer({ segmentBytes: 4096 });
  const pos = producer.append({
    kind: RecordKind.MODIFIED,
    rv: 6,
    key: '/registry/pods/ns/a',
    object: Buffer.from(JSON.stringify(after)),
    attributes: sections.encode(reader.read(after)),
    prevObject: Buffer.from(JSON.stringify(before)),
    prevAttributes: sections.encode(reader.read(before)),
  });
  producer.publish();
  return new RingReader(producer.buffers).read(pos)!;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('CurrentRecord', () => {
  it('reads the attributes of the object and of the previous object from the sections, parsing nothing', () => {
    const current = new CurrentRecord(reader);
    current.reset(modified());
    const parse = vi.spyOn(JSON, 'parse');
    expect(current.attrs()).toEqual(reader.read(after));
    expect(current.prevAttrs()).toEqual(reader.read(before));
    expect(current.attrs()).toBe(current.attrs()); // once per record
    expect(parse).not.toHaveBeenCalled();
  });

  it('JSON frames come from the bytes: MODIFIED as written, a DELETED from the previous object at the record RV', () => {
    const current = new CurrentRecord(reader);
    current.reset(modified());
    const parse = vi.spyOn(JSON, 'parse');
    const stringify = vi.spyOn(JSON, 'stringify');
    const json = codecFor('json');
    const modifiedFrame = Buffer.from(current.frame('MODIFIED', json)).toString();
    const deletedFrame = Buffer.from(current.frame('DELETED', json)).toString();
    expect(parse).not.toHaveBeenCalled();
    expect(stringify).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    expect(modifiedFrame).toBe(`{"type":"MODIFIED","object":${JSON.stringify(after)}}\n`);
    expect(deletedFrame).toBe(`{"type":"DELETED","object":${JSON.stringify({ ...before, metadata: { ...before.metadata, resourceVersion: '6' } })}}\n`);
  });

  it('a codec that takes decoded objects gets each object parsed once per record, and the same content', () => {
    const current = new CurrentRecord(reader);
    current.reset(modified());
    const parse = vi.spyOn(JSON, 'parse');
    const msgpack = codecFor('msgpack');
    const frames = [current.frame('MODIFIED', msgpack), current.frame('ADDED', msgpack), current.frame('DELETED', msgpack)];
    expect(parse).toHaveBeenCalledTimes(2); // the object, then the previous object
    vi.restoreAllMocks();
    expect(frames.map((f) => unpack(f) as unknown)).toEqual([
      { type: 'MODIFIED', object: after },
      { type: 'ADDED', object: after },
      { type: 'DELETED', object: { ...before, metadata: { ...before.metadata, resourceVersion: '6' } } },
    ]);
  });
});
