/**
 * The attribute section of a ring record (layout.ts): what a watcher's predicate reads of an
 * object version (namespace, name, labels, selectable fields, shard hashes), encoded once by the
 * watch cache when it decodes the object, so that dispatchers filter events without parsing the
 * object's JSON. Both sides build the codec from the same selectable fields, in the same order
 * (the cacher hands the dispatchers its AttributeReader's fields).
 *
 * Format (little-endian; varint = unsigned LEB128 of at most 32 bits; str = varint byte length,
 * then that many bytes of UTF-8):
 *
 *    0        4        8        12       16
 *   +--------+--------+--------+--------+---------------+----------------+---------------------------------+----------------------------+
 *   | uidHi  | uidLo  | nsHi   | nsLo   | str namespace | str name       | varint F, F x str field value   | varint L, L x (str, str)   |
 *   +--------+--------+--------+--------+---------------+----------------+---------------------------------+----------------------------+
 *
 *   uid/ns   u32 x 4  the ShardHashes, as shardHashes() computes them
 *   F        the count of selectable fields; values in the order of the codec's fields
 *   L        the count of labels; each a key, then its value
 *
 * The section is exactly as long as its contents: a decoder that finds anything else (a torn
 * read of bytes being overwritten) throws, and the ring reader's validation turns that into a
 * resync.
 */
import { ErrorCodes, WatchCacheError } from '../errors.js';
import { fieldName } from '../select/field-selector.js';
import type { Attributes } from '../select/predicate.js';

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);
const HASH_BYTES = 16;

/** Grows to the largest section encoded so far; encode() copies out of it. */
let scratch = Buffer.allocUnsafe(4096);

export class AttributeCodec {
  /** The names of the selectable fields, in section order. */
  readonly names: readonly string[];

  /** `fields`: the AttributeReader's fields (specs or paths), in its order. */
  constructor(fields: readonly string[]) {
    this.names = fields.map(fieldName);
  }

  /** The section for `attributes` (whose fields are those of this codec). */
  encode(attributes: Attributes): Uint8Array {
    const names = this.names;
    let out = scratch;
    // A bound on the size: 5 bytes per varint, 3 bytes of UTF-8 per UTF-16 unit.
    let bound = HASH_BYTES + 15 + 5 * names.length + (attributes.namespace.length + attributes.name.length) * 3;
    for (const name of names) bound += (attributes.fields[name]?.length ?? 0) * 3;
    const labels = attributes.labels;
    let count = 0;
    for (const key in labels) {
      bound += 10 + (key.length + labels[key]!.length) * 3;
      count++;
    }
    if (bound > out.length) out = scratch = Buffer.allocUnsafe(Math.max(bound, out.length * 2));

    const { uidHi, uidLo, namespaceHi, namespaceLo } = attributes.shard;
    out.writeUInt32LE(uidHi, 0);
    out.writeUInt32LE(uidLo, 4);
    out.writeUInt32LE(namespaceHi, 8);
    out.writeUInt32LE(namespaceLo, 12);
    let at = writeString(out, HASH_BYTES, attributes.namespace);
    at = writeString(out, at, attributes.name);
    at = writeVarint(out, at, names.length);
    for (const name of names) at = writeString(out, at, attributes.fields[name] ?? '');
    at = writeVarint(out, at, count);
    for (const key in labels) {
      at = writeString(out, at, key);
      at = writeString(out, at, labels[key]!);
    }
    const section = new Uint8Array(at);
    section.set(out.subarray(0, at));
    return section;
  }

  /** The attributes in a section; throws WC_ERR_INTERNAL when the bytes are not one. */
  decode(bytes: Uint8Array): Attributes {
    const reader = new SectionReader(bytes);
    if (bytes.byteLength < HASH_BYTES) throw reader.malformed();
    const shard = { uidHi: reader.u32(0), uidLo: reader.u32(4), namespaceHi: reader.u32(8), namespaceLo: reader.u32(12) };
    reader.at = HASH_BYTES;
    const namespace = reader.string();
    const name = reader.string();
    const names = this.names;
    if (reader.varint() !== names.length) throw reader.malformed();
    const fields = Object.create(null) as Record<string, string>;
    for (const field of names) fields[field] = reader.string();
    let count = reader.varint();
    let labels = NO_LABELS;
    if (count > 0) {
      const out = Object.create(null) as Record<string, string>;
      for (; count > 0; count--) {
        const key = reader.string();
        out[key] = reader.string();
      }
      labels = out;
    }
    if (reader.at !== bytes.byteLength) throw reader.malformed();
    return { namespace, name, labels, fields, shard };
  }
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}

function writeString(out: Buffer, at: number, text: string): number {
  // Under 43 UTF-16 units the UTF-8 length is below 128: one length byte, filled in afterwards.
  if (text.length < 43) {
    const written = text.length === 0 ? 0 : out.write(text, at + 1, 'utf8');
    out[at] = written;
    return at + 1 + written;
  }
  const length = Buffer.byteLength(text, 'utf8');
  at = writeVarint(out, at, length);
  return at + out.write(text, at, length, 'utf8');
}

class SectionReader {
  readonly #bytes: Buffer;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u32(at: number): number {
    return this.#bytes.readUInt32LE(at);
  }

  varint(): number {
    const b = this.#bytes;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = b[this.at++];
      if (byte === undefined) break;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw this.malformed();
  }

  string(): string {
    const length = this.varint();
    const start = this.at;
    const end = start + length;
    if (end > this.#bytes.length) throw this.malformed();
    this.at = end;
    return length === 0 ? '' : this.#bytes.toString('utf8', start, end);
  }

  malformed(): WatchCacheError {
    return new WatchCacheError(ErrorCodes.INTERNAL, `ring record attribute section of ${this.#bytes.length} bytes is malformed`);
  }
}
