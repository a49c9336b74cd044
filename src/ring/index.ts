/** The broadcast ring: the cache's event window in shared memory. See layout.ts. */
export {
  MAX_CAPACITY,
  MIN_CAPACITY,
  RECORD_HEADER_BYTES,
  RecordFlags,
  RecordKind,
  distance,
  maxRecordBytes,
  recordBytes,
} from './layout.js';
export { RingProducer } from './producer.js';
export type { EvictListener, RingBuffers, RingProducerOptions, RingRecordInput } from './producer.js';
export { RingReader, SCAN_LAPPED } from './reader.js';
export type { RingRecord } from './reader.js';
export { NO_TRIGGER, triggerHash, triggerHashBytes } from './trigger-hash.js';
