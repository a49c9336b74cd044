/**
 * What the cache keeps per object version: the stored bytes with the resourceVersion spliced in
 * (parsed once for the attributes, never re-encoded), the ADDED frame around them, and the
 * attribute section ring records carry.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ObjectCodec } from '../../src/cache/object.js';
import { AttributeCodec } from '../../src/ring/attributes.js';
import { POD_SCHEMA, pod } from '../helpers/pods.js';

const KEY = '/registry/pods/default/a';

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ObjectCodec: decoding a stored value', () => {
  it('parses once and never re-encodes: the bytes are the stored ones with the revision spliced in', () => {
    const codec = new ObjectCodec(POD_SCHEMA);
    const object = pod({ name: 'a', nodeName: 'node-1', labels: { app: 'web' } });
    const value = Buffer.from(JSON.stringify(object));
    const parse = vi.spyOn(JSON, 'parse');
    const stringify = vi.spyOn(JSON, 'stringify');
    const cached = codec.decode(KEY, value, 42);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(stringify).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    // Compact input: byte for byte what re-encoding the stamped object gives.
    const stamped = { ...object, metadata: { ...(object.metadata as object), resourceVersion: '42' } };
    expect(text(cached.bytes)).toBe(JSON.stringify(stamped));
    expect(text(cached.addedFrame)).toBe(`{"type":"ADDED","object":${JSON.stringify(stamped)}}\n`);
    expect(cached.bytes.buffer).toBe(cached.addedFrame.buffer);
    expect(cached.trigger).toBe('node-1');
  });

  it('a foreign value with whitespace and a resourceVersion of its own gets the cache revision in place of it', () => {
    const codec = new ObjectCodec(POD_SCHEMA);
    const value = Buffer.from('{ "kind": "Pod", "metadata": { "resourceVersion": "7", "name": "a" }, "spec": { "nodeName": "n" } }');
    const cached = codec.decode(KEY, value, 9);
    expect(JSON.parse(text(cached.bytes))).toEqual({ kind: 'Pod', metadata: { resourceVersion: '9', name: 'a' }, spec: { nodeName: 'n' } });
    expect(text(cached.bytes)).toContain('"resourceVersion": "9"'); // spliced: the rest of the text is as stored
  });

  it('values the splice declines (multi-line, no metadata) are re-encoded: still one line, still stamped', () => {
    const codec = new ObjectCodec(POD_SCHEMA);
    const multiLine = codec.decode(KEY, Buffer.from('{\n  "metadata": {\n    "name": "a"\n  }\n}'), 3);
    expect(text(multiLine.addedFrame)).toBe('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"3"}}}\n');
    const bare = codec.decode(KEY, Buffer.from('{"spec":{}}'), 4);
    expect(JSON.parse(text(bare.bytes))).toEqual({ spec: {}, metadata: { resourceVersion: '4' } });
  });

  it('restamps a cached object at another revision (a DELETED carries the deletion RV) without parsing', () => {
    const codec = new ObjectCodec(POD_SCHEMA);
    const cached = codec.decode(KEY, Buffer.from(JSON.stringify(pod({ name: 'a' }))), 5);
    const parse = vi.spyOn(JSON, 'parse');
    const deleted = codec.restamp(cached, 8);
    expect(parse).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    expect(JSON.parse(text(deleted))).toEqual({ ...JSON.parse(text(cached.bytes)), metadata: { name: 'a', namespace: 'default', resourceVersion: '8' } });
  });

  it('encodes the attribute section once per version: what dispatchers read equals the attributes of the object', () => {
    const codec = new ObjectCodec(POD_SCHEMA);
    const cached = codec.decode(KEY, Buffer.from(JSON.stringify({ ...pod({ name: 'a', nodeName: 'node-1', labels: { app: 'web' }, phase: 'Running' }), metadata: { name: 'a', namespace: 'default', uid: 'u-1', labels: { app: 'web' } } })), 5);
    const section = new AttributeCodec(codec.attributes.fields).decode(cached.attributeBytes);
    expect(section).toEqual({ namespace: cached.namespace, name: cached.name, labels: cached.labels, fields: cached.fields, shard: cached.shard });
    expect(section.fields['spec.nodeName']).toBe('node-1');
    expect(section.fields['status.phase']).toBe('Running');
  });
});
