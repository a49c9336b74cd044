/**
 * Conversions between etcd3's decoded protobuf messages and the Storage types.
 *
 * etcd3 loads the proto with `longs: String`, so every int64 (revisions, versions, watch ids)
 * arrives as a decimal string. Revisions stay far below 2^53 in practice; a value beyond it is
 * refused loudly rather than silently rounded.
 */
import type { IEvent, IKeyValue } from 'etcd3';
import { ErrorCodes, StorageError } from '../../errors.js';
import type { KeyValue, StorageWatchEvent } from '../storage.js';

const EMPTY = new Uint8Array(0);
const ZERO_BYTE = Buffer.from([0]);

/** An etcd int64 (decimal string, or number) as a JS number. */
export function toNumber(value: string | number | null | undefined): number {
  if (value === null || value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new StorageError(ErrorCodes.INTERNAL, `etcd returned an integer outside the safe range: ${String(value)}`);
  }
  return n;
}

export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

/** A view on the caller's bytes (no copy) in the Buffer type the gRPC encoder wants. */
export function valueBytes(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * The [key, range_end) of every key starting with `prefix`. Computed on the UTF-8 bytes: the
 * last byte below 0xff is incremented and the rest dropped. The empty prefix (and a prefix of only
 * 0xff bytes, which UTF-8 never produces) means "every key from here on", which etcd spells "\0".
 */
export function prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  const key = keyBytes(prefix);
  if (key.length === 0) return { key: ZERO_BYTE, rangeEnd: ZERO_BYTE };
  for (let i = key.length - 1; i >= 0; i--) {
    const byte = key[i] as number;
    if (byte < 0xff) {
      const end = Buffer.from(key.subarray(0, i + 1));
      end[i] = byte + 1;
      return { key, rangeEnd: end };
    }
  }
  return { key, rangeEnd: ZERO_BYTE };
}

export function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value ?? EMPTY,
    createRevision: toNumber(kv.create_revision),
    modRevision: toNumber(kv.mod_revision),
    version: toNumber(kv.version),
  };
}

export function toWatchEvent(event: IEvent, withPrevKv: boolean): StorageWatchEvent {
  const prev = withPrevKv && event.prev_kv ? toKeyValue(event.prev_kv) : undefined;
  if (event.type === 'Delete') {
    const kv: KeyValue = {
      key: event.kv.key.toString('utf8'),
      value: EMPTY,
      createRevision: 0,
      modRevision: toNumber(event.kv.mod_revision),
      version: 0,
    };
    return prev ? { type: 'delete', kv, prevKv: prev } : { type: 'delete', kv };
  }
  const kv = toKeyValue(event.kv);
  return prev ? { type: 'put', kv, prevKv: prev } : { type: 'put', kv };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Progress requests are answered in order with events only from these etcd releases on (etcd #15220). */
export function progressRequestsAreOrdered(version: string): boolean {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (major !== 3) return major > 3;
  if (minor >= 6) return true;
  if (minor === 5) return patch >= 13;
  if (minor === 4) return patch >= 31;
  return false;
}
