/** The attribute section of ring records: what dispatchers filter on without parsing the object. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { AttributeCodec } from '../../src/ring/attributes.js';
import { derivedField } from '../../src/select/field-selector.js';
import { AttributeReader } from '../../src/select/predicate.js';
import { shardHashes } from '../../src/select/shard-selector.js';
import { codeOf } from '../helpers/errors.js';

const reader = new AttributeReader(['spec.nodeName', 'status.phase', derivedField('status.replicas', 'status.replicas', '0')]);
const codec = new AttributeCodec(reader.fields);

function roundTrip(object: unknown): void {
  const attributes = reader.read(object);
  expect(codec.decode(codec.encode(attributes))).toEqual(attributes);
}

describe('ring record attribute sections', () => {
  it('round-trip namespace, name, labels, every selectable field (by name, derived ones included) and the shard hashes', () => {
    const object = {
      metadata: { name: 'web-0', namespace: 'prod', uid: '6f1c-44', labels: { app: 'web', 'example.com/tier': 'front' } },
      spec: { nodeName: 'node-7' },
      status: { phase: 'Running' },
    };
    const attributes = reader.read(object);
    const decoded = codec.decode(codec.encode(attributes));
    expect(decoded).toEqual(attributes);
    expect(decoded.fields).toEqual({ 'metadata.name': 'web-0', 'metadata.namespace': 'prod', 'spec.nodeName': 'node-7', 'status.phase': 'Running', 'status.replicas': '0' });
    expect(decoded.shard).toEqual(shardHashes('6f1c-44', 'prod'));
  });

  it('round-trip an object with no labels, no namespace and missing fields', () => {
    const decoded = codec.decode(codec.encode(reader.read({ metadata: { name: 'n' } })));
    expect(decoded.labels).toEqual({});
    expect(decoded.namespace).toBe('');
    expect(decoded.fields['spec.nodeName']).toBe('');
    roundTrip({});
    roundTrip({ metadata: { labels: {} } });
  });

  it('round-trip unicode, empty strings and strings longer than a one-byte length', () => {
    const long = 'x'.repeat(300) + 'ü'.repeat(100);
    roundTrip({ metadata: { name: 'ñ名😀', namespace: '', labels: { '': '', 'ключ': 'значение', long } }, spec: { nodeName: long }, status: { phase: '\u0000"\\' } });
    roundTrip({ metadata: { name: 'a'.repeat(42), namespace: 'b'.repeat(43), labels: { ['c'.repeat(20000)]: 'é'.repeat(20000) } } });
  });

  it('keeps a label named __proto__ as data', () => {
    const labels = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    const decoded = codec.decode(codec.encode(reader.read({ metadata: { labels } })));
    expect(Object.keys(decoded.labels)).toEqual(['__proto__', 'a']);
    expect(decoded.labels['__proto__']).toBe('x');
  });

  it('sections are independent copies, not views of the encoder scratch', () => {
    const a = codec.encode(reader.read({ metadata: { name: 'a' } }));
    const copy = a.slice();
    codec.encode(reader.read({ metadata: { name: 'b'.repeat(10000) } }));
    expect(a).toEqual(copy);
    expect(codec.decode(a).name).toBe('a');
  });

  it('bytes that are not a section (short, truncated, trailing bytes, another field count) throw WC_ERR_INTERNAL', () => {
    const section = codec.encode(reader.read({ metadata: { name: 'p', namespace: 'ns', labels: { a: 'b' } } }));
    expect(codeOf(() => codec.decode(new Uint8Array(0)))).toBe(ErrorCodes.INTERNAL);
    expect(codeOf(() => codec.decode(section.subarray(0, 15)))).toBe(ErrorCodes.INTERNAL);
    for (let cut = 16; cut < section.length; cut++) expect(codeOf(() => codec.decode(section.subarray(0, cut))), `cut at ${cut}`).toBe(ErrorCodes.INTERNAL);
    expect(codeOf(() => codec.decode(Buffer.concat([section, Buffer.from([0])])))).toBe(ErrorCodes.INTERNAL);
    expect(codeOf(() => new AttributeCodec(new AttributeReader([]).fields).decode(section))).toBe(ErrorCodes.INTERNAL);
    // Garbage, as a torn read would see, never hangs and never decodes past the section.
    const garbage = new Uint8Array(64).fill(0xff);
    expect(codeOf(() => codec.decode(garbage))).toBe(ErrorCodes.INTERNAL);
  });
});
