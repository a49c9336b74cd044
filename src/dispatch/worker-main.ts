/**
 * The body of a dispatcher worker thread: the same Dispatcher as inline, driven by the ring (it
 * waits on the producer's publish counter) and by messages from the cacher. Frames go back once
 * per dispatch turn, packed into one transferred buffer: each distinct frame is copied once,
 * whatever number of watchers receive it, and nothing is structured-cloned frame by frame.
 */
import type { MessagePort } from 'node:worker_threads';
import { RingReader } from '../ring/reader.js';
import { Dispatcher } from './dispatcher.js';
import type { DeliveryBatch, DispatcherConfig, DispatcherInput, DispatcherOutput } from './protocol.js';

/** A delivery batch as it crosses the thread boundary. */
export interface PackedDelivery {
  type: 'deliverPacked';
  /** Watcher ids, one per delivery. */
  ids: Int32Array<ArrayBuffer>;
  /** For each delivery, the index of its frame among the packed frames. */
  refs: Int32Array<ArrayBuffer>;
  /** Frame k is bytes [offsets[k], offsets[k + 1]) of `buffer`. */
  offsets: Int32Array<ArrayBuffer>;
  buffer: ArrayBuffer;
  rv: number;
}

export type WorkerOutput = Exclude<DispatcherOutput, { type: 'deliver' }> | PackedDelivery;

/** How long a worker sleeps on the ring before it looks again anyway (it also wakes on every publish). */
const WAIT_MS = 1_000;

export function runDispatcherWorker(port: MessagePort, config: DispatcherConfig): void {
  let stopped = false;
  const dispatcher = new Dispatcher(config, (message) => {
    if (message.type === 'stopped') stopped = true;
    if (message.type === 'deliver') {
      const packed = pack(message.batch);
      port.postMessage(packed, [packed.buffer, packed.ids.buffer, packed.refs.buffer, packed.offsets.buffer]);
    } else {
      port.postMessage(message);
    }
  });
  // The message listener is also the ref'd handle that keeps the worker alive while it waits.
  port.on('message', (message: DispatcherInput) => dispatcher.handle(message));
  // Only for waiting on the publish counter: it holds no segments, so dropped ones can be freed.
  const reader = new RingReader({ control: config.ring.control, segments: [] });
  port.postMessage({ type: 'online' } satisfies DispatcherOutput);
  void (async () => {
    while (!stopped) {
      const seq = reader.publishSeq();
      dispatcher.pump();
      await reader.waitForPublish(seq, WAIT_MS);
    }
    port.close();
  })();
}

export function pack(batch: DeliveryBatch): PackedDelivery {
  const { ids, frames } = batch;
  const index = new Map<Uint8Array, number>();
  const unique: Uint8Array[] = [];
  const refs = new Int32Array(ids.length);
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    let k = index.get(frame);
    if (k === undefined) {
      k = unique.length;
      index.set(frame, k);
      unique.push(frame);
      total += frame.byteLength;
    }
    refs[i] = k;
  }
  const buffer = new ArrayBuffer(total);
  const bytes = new Uint8Array(buffer);
  const offsets = new Int32Array(unique.length + 1);
  let at = 0;
  for (let k = 0; k < unique.length; k++) {
    offsets[k] = at;
    bytes.set(unique[k]!, at);
    at += unique[k]!.byteLength;
  }
  offsets[unique.length] = at;
  return { type: 'deliverPacked', ids: Int32Array.from(ids), refs, offsets, buffer, rv: batch.rv ?? 0 };
}

/** The main thread's side of pack(): views into the one transferred buffer, one per distinct frame. */
export function unpack(packed: PackedDelivery): DeliveryBatch {
  const frames: Uint8Array[] = [];
  const { offsets, buffer } = packed;
  const distinct: Uint8Array[] = [];
  for (let k = 0; k + 1 < offsets.length; k++) distinct.push(new Uint8Array(buffer, offsets[k]!, offsets[k + 1]! - offsets[k]!));
  for (let i = 0; i < packed.refs.length; i++) frames.push(distinct[packed.refs[i]!]!);
  return { ids: Array.from(packed.ids), frames, rv: packed.rv };
}
