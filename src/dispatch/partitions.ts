/**
 * Logical partitions: watchers are grouped by the value of their index trigger (a kubelet's
 * spec.nodeName), so one partition holds every watcher an event can concern; watchers without a
 * trigger value are spread evenly. Partitions map onto dispatchers (threads) by modulo, so the
 * thread count can change without changing who owns which watchers.
 */
import { triggerHash } from '../ring/trigger-hash.js';

export const PARTITIONS = 64;

export function partitionOf(triggerValue: string | undefined, watcherId: number): number {
  return triggerValue === undefined ? watcherId % PARTITIONS : triggerHash(triggerValue) % PARTITIONS;
}
