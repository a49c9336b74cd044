/**
 * The shard an object belongs to, computed the way a client would check it: 64-bit FNV-1a over
 * the UTF-8 bytes by its definition, in BigInt, independent of the server's implementation.
 */
export function referenceFnv(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

/** Which of `count` equal shards of the hash space (shardRangeText's split) `value` falls in. */
export function shardOf(value: string, count: number): number {
  return Number((referenceFnv(value) * BigInt(count)) >> 64n);
}
