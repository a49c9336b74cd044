/**
 * Logical partitions: watchers are grouped by the value of their index trigger (a kubelet's
 * spec.nodeName), so one partition holds every watcher an event can concern; watchers without a
 * trigger value are spread evenly. Partitions map onto dispatchers (threads) by modulo, so the
 * thread count can change without changing who owns which watchers.
 */
import type { ShardSelector } from '../select/shard-selector.js';
import { triggerHash } from '../ring/trigger-hash.js';

export const PARTITIONS = 64;
const PARTITION_BITS = 6;

export function partitionOf(triggerValue: string | undefined, watcherId: number, shard?: ShardSelector): number {
  if (triggerValue !== undefined) return triggerHash(triggerValue) % PARTITIONS;
  return shard === undefined ? watcherId % PARTITIONS : shardPartition(shard);
}

/**
 * Shard-ranged watchers (the replicas of one controller) by where their range starts: the top
 * bits of the start, bit-reversed, so the R shards of an even split of the hash space land on
 * R different dispatchers whenever R and the dispatcher count are powers of two (without the
 * reversal, shards 0x0…, 0x4…, 0x8…, 0xc… would all fall on dispatcher 0 of 4).
 */
function shardPartition(shard: ShardSelector): number {
  const top = shard.ranges[0]!.startHi >>> (32 - PARTITION_BITS);
  let reversed = 0;
  for (let i = 0; i < PARTITION_BITS; i++) reversed |= ((top >>> i) & 1) << (PARTITION_BITS - 1 - i);
  return reversed;
}
