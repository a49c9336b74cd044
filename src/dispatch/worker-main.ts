/**
 * The body of a dispatcher worker thread: the same Dispatcher as inline, driven by the ring (it
 * waits on the producer's publish counter) and by messages from the cacher. Frames go back once
 * per dispatch turn, packed into one transferred buffer (encode/packed-frames.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import { RingReader } from '../ring/reader.js';
import { distinctFrames, packIndexed } from '../encode/packed-frames.js';
import { Dispatcher } from './dispatcher.js';
import type { DeliveryBatch, DispatcherConfig, DispatcherInput, DispatcherOutput, PackedDelivery } from './protocol.js';

/** How long a worker sleeps on the ring before it looks again anyway (it also wakes on every publish). */
const WAIT_MS = 1_000;

export function runDispatcherWorker(port: MessagePort, config: DispatcherConfig): void {
  let stopped = false;
  const dispatcher = new Dispatcher(config, (message) => {
    if (message.type === 'stopped') stopped = true;
    if (message.type === 'deliver') {
      const packed = pack(message.batch);
      port.postMessage(packed, [packed.packed, packed.ids.buffer, packed.chunkCounts.buffer]);
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

/**
 * A delivery batch as it crosses the thread boundary: each distinct buffer (a frame named by many
 * entries, a shared chunk) packed once into one transferred buffer, ids and counts as typed arrays.
 */
function pack(batch: DeliveryBatch): PackedDelivery {
  // Chunks are new objects, each distinct, after the frames: they keep their order after the
  // distinct frames, so the first chunk's slot is where the chunks start.
  const { refs: slot, distinct } = distinctFrames(batch.buffers);
  const refs = new Uint32Array(batch.ids.length);
  for (let i = 0; i < refs.length; i++) refs[i] = slot[batch.refs[i]!]!;
  const chunkStart = batch.chunkStart < batch.buffers.length ? slot[batch.chunkStart]! : distinct.length;
  return {
    type: 'deliverPacked',
    ids: Int32Array.from(batch.ids),
    packed: packIndexed(refs, distinct),
    chunkStart,
    chunkCounts: Int32Array.from(batch.chunkCounts),
    frames: batch.frames,
    rv: batch.rv ?? 0,
  };
}
