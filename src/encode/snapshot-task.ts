/**
 * The stateless heavy job of a snapshot: turning stored JSON objects into ADDED frames of a
 * format whose codec cannot reuse the cache's own frames. It runs on a piscina thread (see
 * encode-pool.ts) so that a watch with initial events over a large cache does not stall the main
 * thread. The frames come back packed in one transferable buffer (packed-frames.ts).
 */
import { storedEventObject } from './codec.js';
import { codecFor, type WatchFormat } from './codecs.js';
import { decodeJsonObject } from './json-object.js';
import { packFrames } from './packed-frames.js';
import type { PrinterSpec } from './table/views.js';

export interface SnapshotTask {
  encoding: WatchFormat;
  /** The objects' JSON, each with its resourceVersion. */
  objects: Uint8Array[];
  /** The resource's printer (views only). */
  printer?: PrinterSpec;
  /** The first object's frame is the watch's first frame (the codec's `first` variant, if any). */
  first?: boolean;
}

export function encodeSnapshot(task: SnapshotTask): ArrayBuffer {
  const codec = codecFor(task.encoding, task.printer);
  const firstCodec = task.first === true ? (codec.first ?? codec) : codec;
  return packFrames(task.objects.map((json, i) => (i === 0 ? firstCodec : codec).event('ADDED', storedEventObject(json, decodeJsonObject))));
}
