/**
 * watchcache: a worker-threaded watch cache modelled on the Kubernetes kube-apiserver Cacher.
 *
 * The data flows top to bottom: a Storage (the embedded MemoryStorage or etcd) is list-watched
 * into the cache, whose events go through the ring to the partitions that filter, encode and
 * deliver them to watchers.
 */

// Errors: one hierarchy, stable codes.
export {
  CompactedError,
  ErrorCodes,
  StorageError,
  WatchCacheError,
  fromWire,
  isWatchCacheError,
  toWire,
} from './errors.js';
export type { ErrorCode, ErrorDetails, WireError } from './errors.js';

// Storage: the etcd-shaped interface and its two backends.
export type {
  DeleteEvent,
  DeleteResult,
  GetOptions,
  GetResult,
  KeyValue,
  ListOptions,
  ListResult,
  PutEvent,
  Storage,
  WatchBatch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './storage/storage.js';
export { MemoryStorage } from './storage/memory.js';
export type { MemoryStorageOptions } from './storage/memory.js';
