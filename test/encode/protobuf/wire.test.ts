import { describe, expect, it } from 'vitest';
import { ProtobufReader, ProtobufWriter, varintSize } from '../../../src/encode/protobuf/wire.js';

function written(fn: (w: ProtobufWriter) => void): Buffer {
  const w = new ProtobufWriter();
  fn(w);
  return Buffer.from(w.finish());
}

describe('protobuf wire', () => {
  it('varints: the protobuf encoding, negative int32/int64 sign-extended to 10 bytes', () => {
    expect(written((w) => w.varint(0)).toString('hex')).toBe('00');
    expect(written((w) => w.varint(300)).toString('hex')).toBe('ac02');
    expect(written((w) => w.varint(8080)).toString('hex')).toBe('903f');
    expect(written((w) => w.varint(-1)).toString('hex')).toBe('ffffffffffffffffff01');
    expect(written((w) => w.varint(-2)).toString('hex')).toBe('feffffffffffffffff01');
    expect(written((w) => w.varint(2 ** 32)).toString('hex')).toBe('8080808010');
  });

  it('reads back what it writes, across the int64 range JSON numbers hold', () => {
    const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 123456789012, 2 ** 53 - 1, -1, -2, -128, -(2 ** 31), -(2 ** 32) - 5, -(2 ** 53) + 1];
    const bytes = written((w) => values.forEach((v) => w.varint(v)));
    const r = new ProtobufReader(bytes);
    expect(values.map(() => r.int64())).toEqual(values);
    expect(r.pos).toBe(bytes.length);
    expect(new ProtobufReader(written((w) => w.varint(-7))).int32()).toBe(-7);
  });

  it('nested bodies longer than 127 bytes get multi-byte lengths, at any depth', () => {
    for (const size of [0, 127, 128, 16383, 16384, 70000]) {
      const bytes = written((w) => {
        w.key(10);
        const outer = w.begin();
        w.key(18);
        const inner = w.begin();
        w.raw(new Uint8Array(size).fill(7));
        w.end(inner);
        w.end(outer);
      });
      const r = new ProtobufReader(bytes);
      expect(r.uvarint()).toBe(10);
      const outerEnd = r.lengthEnd();
      expect(outerEnd).toBe(bytes.length);
      expect(r.uvarint()).toBe(18);
      const inner = r.bytes();
      expect(inner.length).toBe(size);
      expect(inner.every((b) => b === 7)).toBe(true);
      expect(bytes.length).toBe(1 + varintSize(size + 1 + varintSize(size)) + 1 + varintSize(size) + size);
    }
  });

  it('strings are UTF-8 with their byte length, short and long, ASCII and not', () => {
    for (const s of ['', 'a', 'héllo ✓', '日本語'.repeat(20), 'x'.repeat(500)]) {
      const r = new ProtobufReader(written((w) => w.string(s)));
      expect(r.string()).toBe(s);
    }
  });

  it('the reader refuses truncated varints and lengths that run past the message', () => {
    expect(() => new ProtobufReader(Buffer.from([0x80])).uvarint()).toThrow(/truncated varint/);
    expect(() => new ProtobufReader(Buffer.from([0x05, 0x61])).string()).toThrow(/runs past/);
    expect(() => new ProtobufReader(Buffer.from([0x01])).skip(3)).toThrow(/wire type 3/);
  });
});
