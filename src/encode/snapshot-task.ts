/**
 * The stateless heavy job of a snapshot: turning stored JSON objects into ADDED frames of an
 * encoding whose codec cannot reuse the cache's own frames. It runs on a piscina thread (see
 * encode-pool.ts) so that a watch with initial events over a large cache does not stall the main
 * thread. The frames come back packed in one transferable buffer (packed-frames.ts).
 */
import { storedEventObject } from './codec.js';
import { codecFor, type FrameEncoding } from './codecs.js';
import { decodeJsonObject } from './json-object.js';
import { packFrames } from './packed-frames.js';

export interface SnapshotTask {
  encoding: FrameEncoding;
  /** The objects' JSON, each with its resourceVersion. */
  objects: Uint8Array[];
}

export function encodeSnapshot(task: SnapshotTask): ArrayBuffer {
  const codec = codecFor(task.encoding);
  return packFrames(task.objects.map((json) => codec.event('ADDED', storedEventObject(json, decodeJsonObject))));
}
