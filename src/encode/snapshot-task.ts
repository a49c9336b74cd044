/**
 * The stateless heavy job of a snapshot: turning stored JSON objects into msgpack ADDED frames.
 * It runs on a piscina thread (see encode-pool.ts) so that a watch with initial events over a
 * large cache does not stall the main thread. The frames come back in one transferable buffer:
 *
 *   u32 count | u32 offsets[count + 1] (from the start of the frames) | frames…
 */
import { msgpackEventFrame } from './msgpack-frame.js';

export interface SnapshotTask {
  /** The objects' JSON, each with its resourceVersion. */
  objects: Uint8Array[];
}

export function encodeSnapshot(task: SnapshotTask): ArrayBuffer {
  const frames = task.objects.map((json) =>
    msgpackEventFrame('ADDED', JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'))),
  );
  const count = frames.length;
  const header = 4 * (count + 2);
  let total = 0;
  for (const frame of frames) total += frame.byteLength;
  const buffer = new ArrayBuffer(header + total);
  const words = new Uint32Array(buffer, 0, count + 2);
  const bytes = new Uint8Array(buffer);
  words[0] = count;
  let at = 0;
  for (let k = 0; k < count; k++) {
    words[k + 1] = at;
    bytes.set(frames[k]!, header + at);
    at += frames[k]!.byteLength;
  }
  words[count + 1] = at;
  return buffer;
}

/** Views of the frames in an encodeSnapshot() buffer. */
export function framesOf(buffer: ArrayBuffer): Uint8Array[] {
  const count = new Uint32Array(buffer, 0, 1)[0]!;
  const words = new Uint32Array(buffer, 0, count + 2);
  const header = 4 * (count + 2);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < count; k++) frames.push(new Uint8Array(buffer, header + words[k + 1]!, words[k + 2]! - words[k + 1]!));
  return frames;
}
