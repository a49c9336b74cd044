import { describe, expect, it } from 'vitest';
import { NO_TRIGGER, triggerHash } from '../../src/ring/trigger-hash.js';

/** Plain FNV-1a 32 over bytes, without the "never 0" rule: the reference for the tests. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

describe('trigger hash', () => {
  it('is 32-bit FNV-1a of the UTF-8 bytes (published test vectors)', () => {
    expect(triggerHash('')).toBe(0x811c9dc5);
    expect(triggerHash('a')).toBe(0xe40c292c);
    expect(triggerHash('foobar')).toBe(0xbf9cf968);
  });

  it('hashes non-ASCII values as their UTF-8 bytes, lone surrogates as U+FFFD', () => {
    const values = ['node-ä', 'ノード-1', 'emoji-😀-x', '\u07ff\u0800'];
    values.push('lone-\ud800-high', 'lone-\udc00-low', 'end-\ud83d');
    for (const value of values) {
      const utf8 = Buffer.from(value, 'utf8');
      expect(triggerHash(value)).toBe(fnv1a(utf8));
    }
  });

  it('is 0 only for "no trigger value", never for a value', () => {
    expect(triggerHash(undefined)).toBe(NO_TRIGGER);
    // A value whose plain FNV-1a is 0 (found by search) still gets a non-zero hash.
    const zero = 'node-73539475g';
    expect(fnv1a(Buffer.from(zero))).toBe(0);
    expect(triggerHash(zero)).not.toBe(NO_TRIGGER);
  });

  it('returns uint32 values', () => {
    for (let i = 0; i < 1000; i++) {
      const h = triggerHash(`node-${i}`);
      expect(Number.isInteger(h) && h > 0 && h <= 0xffff_ffff).toBe(true);
    }
  });
});
