import { unpack } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectCodec } from '../../src/cache/object.js';
import { EncodePool } from '../../src/encode/encode-pool.js';
import { codecFor } from '../../src/encode/codecs.js';
import { jsonEventFrame } from '../../src/encode/json-frame.js';
import { msgpackEventFrame } from '../../src/encode/msgpack-frame.js';
import { packFrames, unpackFrames } from '../../src/encode/packed-frames.js';
import { encodeSnapshot } from '../../src/encode/snapshot-task.js';
import { newStatus } from '../../src/status.js';

const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', resourceVersion: '7' }, spec: { nodeName: 'n' } };
const json = Buffer.from(JSON.stringify(object));

describe('frames', () => {
  it('a JSON frame splices the stored bytes into the watch envelope, byte for byte', () => {
    const frame = jsonEventFrame('MODIFIED', json);
    expect(Buffer.from(frame).toString()).toBe(`{"type":"MODIFIED","object":${json.toString()}}\n`);
  });

  it('a cached object carries its ADDED frame, and its bytes are a view into it', () => {
    const codec = new ObjectCodec();
    const cached = codec.cache('/registry/pods/default/a', codec.parse('/registry/pods/default/a', Buffer.from(JSON.stringify(object))), 7);
    expect(Buffer.from(cached.addedFrame).equals(Buffer.from(jsonEventFrame('ADDED', cached.bytes)))).toBe(true);
    expect(cached.bytes.buffer).toBe(cached.addedFrame.buffer);
    expect(JSON.parse(Buffer.from(cached.bytes).toString())).toEqual(object);
  });

  it('a msgpack frame is a plain map {type, object} any decoder reads', () => {
    expect(unpack(msgpackEventFrame('ADDED', object))).toEqual({ type: 'ADDED', object });
    expect(unpack(codecFor('msgpack').bookmark({ kind: 'Pod', apiVersion: 'v1' }, 9, true))).toEqual({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '9', annotations: { 'k8s.io/initial-events-end': 'true' } } },
    });
    const status = newStatus(410, 'Expired', 'too old');
    expect(unpack(codecFor('msgpack').error(status))).toEqual({ type: 'ERROR', object: status });
    expect(JSON.parse(Buffer.from(codecFor('json').error(status)).toString())).toEqual({ type: 'ERROR', object: status });
  });
});

describe('snapshot encoding', () => {
  const pool = new EncodePool();
  afterAll(() => pool.release());

  it('packs many frames into one buffer and reads them back in order', () => {
    const objects = Array.from({ length: 50 }, (_, i) => Buffer.from(JSON.stringify({ metadata: { name: `p${i}` } })));
    const frames = unpackFrames(encodeSnapshot({ encoding: 'msgpack', objects }));
    expect(frames.map((f) => (unpack(f) as { object: { metadata: { name: string } } }).object.metadata.name)).toEqual(
      objects.map((_, i) => `p${i}`),
    );
  });

  it('the encode pool gives the same frames as encoding inline', async () => {
    const objects = Array.from({ length: 200 }, (_, i) => Buffer.from(JSON.stringify({ metadata: { name: `p${i}`, labels: { i: String(i) } } })));
    const pooled = await pool.snapshot({ encoding: 'msgpack', objects });
    const inline = unpackFrames(encodeSnapshot({ encoding: 'msgpack', objects }));
    expect(pooled.map((f) => Buffer.from(f).toString('hex'))).toEqual(inline.map((f) => Buffer.from(f).toString('hex')));
  });
});

describe('packed frames', () => {
  it('a frame named many times is stored once, and every delivery reads it back in order', () => {
    const a = Buffer.from('first');
    const b = Buffer.from('second, longer');
    const packed = packFrames([a, b, a, a, b]);
    expect(packed.byteLength).toBe(4 * (2 + 5 + 3) + a.length + b.length);
    const frames = unpackFrames(packed);
    expect(frames.map((f) => Buffer.from(f).toString())).toEqual(['first', 'second, longer', 'first', 'first', 'second, longer']);
    // Views into the one buffer: the same distinct frame each time.
    expect(frames[0]).toBe(frames[2]);
    expect(frames[0]!.buffer).toBe(packed);
  });

  it('an empty batch packs and unpacks', () => {
    expect(unpackFrames(packFrames([]))).toEqual([]);
  });
});
