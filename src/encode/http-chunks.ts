/**
 * A dispatcher turn's frames as ready HTTP/1.1 chunks (RFC 9112, section 7.1), for watchers whose
 * transport is chunked: the HTTP front writes such a chunk to the socket as it is
 * (server/watch.ts), so the framing is built here, on the dispatcher's thread, once per distinct
 * sequence of frames rather than once per watcher.
 */

/** A `chunked` watcher as the chunk builder sees it: its id and its frames of the turn. */
export interface ChunkedWatcher {
  readonly id: number;
  readonly out: Uint8Array[];
}

/**
 * One entry per `chunked` watcher, a chunk of its frames of the turn (emptied here), appended to
 * the batch's buffers (returns the chunks' counts, frames and payload bytes per chunk): a watcher whose frames are the same frame objects in the same order as
 * another's (the live group of the "everything" watchers, the watchers of one node) gets the very
 * same chunk, so a chunk is built once per distinct sequence, not per watcher.
 */
export function addChunks(ids: number[], refs: number[], buffers: Uint8Array[], watchers: readonly ChunkedWatcher[]): number[] {
  const chunkCounts: number[] = [];
  /** A frame's identity, for hashing sequences. */
  const frameIdentity = new Map<Uint8Array, number>();
  /** Chunks by the hash of their frame sequence: candidates, confirmed by comparing the frames. */
  const chunksByHash = new Map<number, number[]>();
  const chunkFrames = new Map<number, Uint8Array[]>();
  for (const w of watchers) {
    const out = w.out;
    let hash = out.length;
    for (const frame of out) {
      let identity = frameIdentity.get(frame);
      if (identity === undefined) frameIdentity.set(frame, (identity = frameIdentity.size + 1));
      hash = Math.imul(hash ^ identity, 0x9e3779b1) >>> 0;
    }
    let candidates = chunksByHash.get(hash);
    if (candidates === undefined) chunksByHash.set(hash, (candidates = []));
    let k = candidates.find((c) => sameFrames(chunkFrames.get(c)!, out));
    if (k === undefined) {
      k = buffers.length;
      candidates.push(k);
      // The watcher's array is reused next turn: keep a copy as the sequence's representative.
      chunkFrames.set(k, out.slice());
      const chunk = chunkOf(out);
      buffers.push(chunk.buffer);
      chunkCounts.push(out.length, chunk.payload);
    }
    ids.push(w.id);
    refs.push(k);
  }
  for (const w of watchers) w.out.length = 0;
  return chunkCounts;
}

function sameFrames(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const CR = 0x0d;
const LF = 0x0a;

/** One HTTP/1.1 chunk of `frames`: `hex(len)\r\n<frames>\r\n` (RFC 9112, section 7.1). */
function chunkOf(frames: readonly Uint8Array[]): { buffer: Uint8Array; payload: number } {
  let payload = 0;
  for (const frame of frames) payload += frame.byteLength;
  const size = payload.toString(16);
  const buffer = new Uint8Array(size.length + 2 + payload + 2);
  let at = 0;
  for (; at < size.length; at++) buffer[at] = size.charCodeAt(at);
  buffer[at++] = CR;
  buffer[at++] = LF;
  for (const frame of frames) {
    buffer.set(frame, at);
    at += frame.byteLength;
  }
  buffer[at++] = CR;
  buffer[at] = LF;
  return { buffer, payload };
}
