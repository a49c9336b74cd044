/**
 * The protobuf wire format, just the parts Kubernetes uses: varints (wire type 0), 64-bit
 * doubles (1), length-delimited fields (2). The writer reserves one byte for the length of a
 * nested message and moves the body only when it turns out longer than 127 bytes, so nested
 * messages cost no size pre-pass; the reader walks a byte range and fails with a 400-class error
 * on anything truncated or malformed, since its input is a request body.
 */
import { ErrorCodes, WatchCacheError } from '../../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const INITIAL_BYTES = 4096;
const TWO_32 = 4294967296;

export class ProtobufWriter {
  #buf: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  pos = 0;

  /** Start a new output, keeping the buffer (one writer serves many encodes). */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of what was written: the writer's buffer is reused by the next encode. */
  finish(): Uint8Array {
    return Uint8Array.prototype.slice.call(this.#buf, 0, this.pos);
  }

  #ensure(n: number): void {
    if (this.pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.pos);
    this.#buf = next;
  }

  /** A non-negative integer below 2^53, or a negative one (sign-extended to 10 bytes, as int32/int64 are). */
  varint(value: number): void {
    this.#ensure(10);
    const buf = this.#buf;
    if (value >= 0 && value < 128) {
      buf[this.pos++] = value;
      return;
    }
    let lo: number;
    let hi: number;
    if (value >= 0) {
      lo = value >>> 0;
      hi = Math.floor(value / TWO_32) >>> 0;
    } else {
      // two's complement of |value| over 64 bits
      const abs = -value;
      lo = ~(abs >>> 0) >>> 0;
      hi = ~(Math.floor(abs / TWO_32) >>> 0) >>> 0;
      if (lo === 0xffffffff) {
        lo = 0;
        hi = (hi + 1) >>> 0;
      } else {
        lo += 1;
      }
    }
    let pos = this.pos;
    while (hi !== 0 || lo > 127) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  double(value: number): void {
    this.#ensure(8);
    this.#buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A field key (field number and wire type), precomputed by the caller as `number << 3 | wire`. */
  key(key: number): void {
    this.varint(key);
  }

  string(value: string): void {
    // Up to 42 UTF-16 units fit 127 UTF-8 bytes: write straight after a one-byte length.
    const length = value.length;
    if (length < 43) {
      this.#ensure(1 + length * 3);
      const buf = this.#buf;
      const start = this.pos + 1;
      // Most Kubernetes strings are short ASCII: copying the code units beats a native call.
      let i = 0;
      for (; i < length; i++) {
        const c = value.charCodeAt(i);
        if (c > 127) break;
        buf[start + i] = c;
      }
      const n = i === length ? length : i + buf.write(value.slice(i), start + i);
      buf[this.pos] = n;
      this.pos = start + n;
      return;
    }
    const n = Buffer.byteLength(value, 'utf8');
    this.varint(n);
    this.#ensure(n);
    this.#buf.write(value, this.pos, n);
    this.pos += n;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.raw(value);
  }

  /** Bytes as they are (an already encoded message body, after its key and length). */
  raw(value: Uint8Array): void {
    this.#ensure(value.length);
    this.#buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Open a length-delimited body; pass the result to `end`. */
  begin(): number {
    this.#ensure(1);
    return this.pos++;
  }

  end(start: number): void {
    const len = this.pos - start - 1;
    if (len < 128) {
      this.#buf[start] = len;
      return;
    }
    const size = varintSize(len);
    this.#ensure(size - 1);
    this.#buf.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    const after = this.pos;
    this.pos = start;
    this.varint(len);
    this.pos = after;
  }
}

export function varintSize(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

export function malformed(message: string): WatchCacheError {
  return new WatchCacheError(ErrorCodes.BAD_REQUEST, `malformed protobuf: ${message}`);
}

export class ProtobufReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
    this.pos = start;
    this.end = end;
  }

  /** The varint as an unsigned number (exact below 2^53). */
  uvarint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 128) return result;
      mul *= 128;
    }
    throw malformed('varint longer than 10 bytes');
  }

  /** An int64 varint: two's complement over 64 bits, so negative values come back negative. */
  int64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const b = buf[this.pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if (b < 128) {
        lo >>>= 0;
        if (hi & 0x80000000) return -((~hi >>> 0) * TWO_32 + (~lo >>> 0) + 1);
        return (hi >>> 0) * TWO_32 + lo;
      }
    }
    throw malformed('varint longer than 10 bytes');
  }

  int32(): number {
    return this.int64() | 0;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw malformed('truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** The end offset of a length-delimited field starting here (the reader moves past its length). */
  lengthEnd(): number {
    const len = this.uvarint();
    const end = this.pos + len;
    if (end > this.end) throw malformed('length-delimited field runs past its message');
    return end;
  }

  bytes(): Buffer {
    const end = this.lengthEnd();
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  string(): string {
    const end = this.lengthEnd();
    const buf = this.buf;
    let pos = this.pos;
    this.pos = end;
    // Short ASCII (most Kubernetes strings) is cheaper built here than through a native call.
    if (end - pos < 48) {
      let s = '';
      for (; pos < end; pos++) {
        const c = buf[pos]!;
        if (c > 127) return s + buf.toString('utf8', pos, end);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return buf.toString('utf8', pos, end);
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.uvarint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw malformed(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw malformed('truncated field');
  }
}
