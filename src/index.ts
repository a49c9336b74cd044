/**
 * watchcache: a worker-threaded watch cache modelled on the Kubernetes kube-apiserver Cacher.
 *
 * The data flows top to bottom: a Storage (the embedded MemoryStorage, kept on disk by
 * DurableStorage, or etcd) is list-watched into the cache, whose events go through the ring to the
 * partitions that filter, encode and deliver them to watchers.
 */

import type { DurableStorage, DurableStorageOptions } from './storage/durable.js';

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

// Storage: the etcd-shaped interface and its backends.
export type {
  DeleteEvent,
  DeleteResult,
  GetResult,
  KeyValue,
  PutEvent,
  Storage,
  StorageGetOptions,
  StorageListOptions,
  StorageListResult,
  StorageWatchEvent,
  StorageWatchOptions,
  WatchBatch,
  WriteOptions,
} from './storage/storage.js';
export { MemoryStorage } from './storage/memory.js';
export type { MemoryStorageOptions } from './storage/memory.js';
export type { DurableStorage, DurableStorageOptions, DurableStorageStats, RecoveryStats } from './storage/durable.js';

/**
 * Opens the durable embedded store (`DurableStorage.open`). LMDB's native binding loads only here,
 * so a program that keeps its store in memory never needs it.
 */
export async function openDurableStorage(options: DurableStorageOptions): Promise<DurableStorage> {
  const { DurableStorage } = await import('./storage/durable.js');
  return DurableStorage.open(options);
}
export { EtcdStorage } from './storage/etcd.js';
export type { EtcdStorageOptions, EtcdWatchRestartReason, EtcdWatchStreamEvent } from './storage/etcd.js';

// The cache: reflector, watch cache, ready gate; WATCH/LIST/GET with Kubernetes semantics.
export { createCacher, DEFAULT_LIMITS } from './cache/cacher.js';
export type { Cacher, CacherOptions, CacherStats, FrameWatchOptions, GetOptions, ListResult } from './cache/cacher.js';
export type { WatchView } from './encode/view-codec.js';
export type { PrinterSpec } from './encode/table/views.js';
export type { ListOptions, ReadOptions, ResourceVersionMatch, WatchOptions } from './cache/request.js';
export type { KubeObject, ObjectMeta } from './kube-object.js';
export type { ResourceSchema } from './cache/object.js';
export { ManualClock, realClock } from './clock.js';
export type { Clock, Timer } from './clock.js';
// Sharded LIST and WATCH (shardSelector): building a replica's range, and the hash for a client-side fallback.
export { fnv1a64Hex, shardRangeText } from './select/shard-selector.js';

// Delivery: in-process watches (decoded events) and frame watches (wire bytes).
export type { Watch, WatchEvent } from './delivery/watch-iterator.js';
export type { FrameSink, FrameWatch } from './delivery/frame-stream.js';

// Kubernetes Status objects for errors.
export { newStatus, statusFromError } from './status.js';
export type { Status, StatusDetails, StatusReason } from './status.js';

// The HTTP front: a Kubernetes-compatible API server, one cacher per resource.
export { createServer, startServer, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_PREFIX } from './server/server.js';
export type { ServerLimits, ServerOptions, WatchcacheServer } from './server/server.js';
export { BUILTIN_RESOURCES, defineResource, loadResourcesFile, parseResourcesFile } from './server/registry.js';
export type { ResourceConfig, ResourceDefinition } from './server/registry.js';
export { TokenTable } from './server/auth.js';
export type { Access, Principal, Verb } from './server/auth.js';
export type { RequestVerb, ServerMetrics } from './server/metrics.js';
export { createMetrics } from './server/prometheus.js';
export type { MetricsOptions, PrometheusMetrics } from './server/prometheus.js';
export { JSON_WATCH_ENCODING, MSGPACK_WATCH_ENCODING, PROTOBUF_WATCH_ENCODING } from './server/media.js';
export type { WatchEncoding } from './server/media.js';
export type { CacherTuning, ResourceCache } from './server/caches.js';
