/**
 * Frames packed into one transferable ArrayBuffer, the one format in which frames cross a thread
 * boundary (a dispatcher thread's delivery batch, whose "frames" are its distinct buffers: frames
 * and pre-framed chunks; the snapshot pool's initial events): each
 * distinct frame is copied once, however many times the list names it, and nothing is
 * structured-cloned frame by frame.
 *
 *   u32 count | u32 distinct | u32 refs[count] | u32 offsets[distinct + 1] | frames…
 *
 * Frame i of the list is distinct frame refs[i], the bytes [offsets[k], offsets[k + 1]) after
 * the header.
 */

/** Pack `frames` (the same frame object may appear many times; it is stored once). */
export function packFrames(frames: readonly Uint8Array[]): ArrayBuffer {
  const { refs, distinct } = distinctFrames(frames);
  return packIndexed(refs, distinct);
}

/** `frames` split into its distinct frame objects, in first-seen order, and which one each entry is. */
export function distinctFrames(frames: readonly Uint8Array[]): { refs: Uint32Array; distinct: Uint8Array[] } {
  const index = new Map<Uint8Array, number>();
  const distinct: Uint8Array[] = [];
  const refs = new Uint32Array(frames.length);
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    let k = index.get(frame);
    if (k === undefined) {
      k = distinct.length;
      index.set(frame, k);
      distinct.push(frame);
    }
    refs[i] = k;
  }
  return { refs, distinct };
}

/** Pack a list already split into its distinct frames and, per entry, which one (`refs[i]`). */
export function packIndexed(refs: ArrayLike<number>, distinct: readonly Uint8Array[]): ArrayBuffer {
  const count = refs.length;
  let total = 0;
  for (const frame of distinct) total += frame.byteLength;
  const words = 2 + count + distinct.length + 1;
  const header = 4 * words;
  const buffer = new ArrayBuffer(header + total);
  const head = new Uint32Array(buffer, 0, words);
  const bytes = new Uint8Array(buffer);
  head[0] = count;
  head[1] = distinct.length;
  head.set(refs, 2);
  const offsets = 2 + count;
  let at = 0;
  for (let k = 0; k < distinct.length; k++) {
    head[offsets + k] = at;
    bytes.set(distinct[k]!, header + at);
    at += distinct[k]!.byteLength;
  }
  head[offsets + distinct.length] = at;
  return buffer;
}

/** A packed buffer read in place: its refs and its distinct frames, views into it (no copies). */
export function readPacked(buffer: ArrayBuffer): { refs: Uint32Array; distinct: Uint8Array[] } {
  const [count, distinctCount] = new Uint32Array(buffer, 0, 2) as unknown as [number, number];
  const words = 2 + count + distinctCount + 1;
  const head = new Uint32Array(buffer, 0, words);
  const header = 4 * words;
  const offsets = 2 + count;
  const distinct: Uint8Array[] = new Array<Uint8Array>(distinctCount);
  for (let k = 0; k < distinctCount; k++) {
    const from = head[offsets + k]!;
    distinct[k] = new Uint8Array(buffer, header + from, head[offsets + k + 1]! - from);
  }
  return { refs: head.subarray(2, offsets), distinct };
}

/** The frames of a packFrames() buffer, in order: views into it, one per distinct frame. */
export function unpackFrames(buffer: ArrayBuffer): Uint8Array[] {
  const { refs, distinct } = readPacked(buffer);
  const frames: Uint8Array[] = new Array<Uint8Array>(refs.length);
  for (let i = 0; i < refs.length; i++) frames[i] = distinct[refs[i]!]!;
  return frames;
}
