/**
 * Trigger hashes: 32-bit FNV-1a over the UTF-8 bytes of a trigger value (e.g. a pod's
 * spec.nodeName), stored in each ring record for the new and the previous object so that a
 * partition can skip records it does not own by comparing integers, without decoding anything.
 *
 * 0 is reserved for "no trigger value", so a value whose FNV-1a happens to be 0 hashes to 1.
 * Hashes collide: a match only says "maybe yours"; the owner compares the real values.
 */

/** The hash stored for "this object has no trigger value". */
export const NO_TRIGGER = 0;

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function step(hash: number, byte: number): number {
  // Math.imul keeps the multiply in 32 bits; a float multiply would lose the low bits.
  return Math.imul(hash ^ byte, FNV_PRIME);
}

function finish(hash: number): number {
  const h = hash >>> 0;
  return h === NO_TRIGGER ? 1 : h;
}

/**
 * The trigger hash of `value`; `undefined` (no trigger value) is NO_TRIGGER. The empty string is
 * a value like any other. Encodes UTF-8 on the fly instead of allocating the bytes; lone
 * surrogates count as U+FFFD, as Buffer and TextEncoder encode them.
 */
export function triggerHash(value: string | undefined): number {
  if (value === undefined) return NO_TRIGGER;
  let h = FNV_OFFSET_BASIS;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) {
      h = step(h, c);
      continue;
    }
    if (c < 0x800) {
      h = step(h, 0xc0 | (c >> 6));
      h = step(h, 0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? value.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        h = step(h, 0xf0 | (c >> 18));
        h = step(h, 0x80 | ((c >> 12) & 0x3f));
        h = step(h, 0x80 | ((c >> 6) & 0x3f));
        h = step(h, 0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    h = step(h, 0xe0 | (c >> 12));
    h = step(h, 0x80 | ((c >> 6) & 0x3f));
    h = step(h, 0x80 | (c & 0x3f));
  }
  return finish(h);
}
