/**
 * The end-to-end scenario's results: per system, per mix, per rate step. Plain data (it goes into
 * the JSON report as is); null means "not measured", never 0.
 */
import type { Mix } from './workload.js';

export const SYSTEMS = [
  'floor',
  'watchcache-memory-w0',
  'watchcache-memory-w1',
  'watchcache-memory-w2',
  'watchcache-etcd-w0',
  'watchcache-etcd-w1',
  'watchcache-etcd-w2',
  'etcd-direct',
  'etcd-grpc-proxy',
] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** CPU over one step, ms, from /proc (every thread of each process). */
export interface StepCpu {
  wallMs: number;
  /** The server the clients talk to: watchcache, the floor, grpc-proxy; null when that is etcd itself. */
  frontMs: number | null;
  /** The store behind it: etcd; null for the embedded store (inside the front) and the floor. */
  storeMs: number | null;
  clientsMs: number | null;
  writerMs: number | null;
  /** Every CPU of the machine that was busy (/proc/stat). */
  machineMs: number | null;
  /** Everything that is not the system under test: the machine minus front and store. */
  foreignMs: number | null;
  /** The machine minus every process of the benchmark (front, store, clients, writer, this one): other load. */
  otherMs: number | null;
}

export interface E2eStep {
  /** Writes/s asked for. */
  rate: number;
  writes: number;
  /** Writes/s the writer achieved (writes ÷ from its first send to its last completion). */
  writeRate: number;
  failedWrites: number;
  /** Of those, the writes the server refused (not applied, so owed to no watcher). */
  refusedWrites: number;
  /** Deliveries the watchers wanted and got, and those the writes owed them. */
  deliveries: number;
  expected: number;
  /** Over all clients, after the step's drain, so far in this mix: owed and not received. */
  missing: number;
  /** So far in this mix, as `missing`. */
  duplicates: number;
  extra: number;
  /** Raw etcd watchers: events of other nodes they received and dropped (kubelet mix). */
  filtered: number;
  /** ERROR events and watches that ended or failed, so far in this mix. */
  errors: number;
  firstError: string | null;
  /** Deliveries later than the bound after their write. */
  late: number;
  /** Deliveries ÷ the step's wall time (writes and drain). */
  deliveriesPerSec: number;
  /** Write (send) → delivery (client), ms, from every delivery. */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** From the writer's last completion to the last expected delivery (or the timeout), ms, the slowest client. */
  drainMs: number;
  cpu: StepCpu;
  /** (front + store) CPU per delivery, µs; front and store apart. */
  serverUsPerDelivery: number | null;
  frontUsPerDelivery: number | null;
  storeUsPerDelivery: number | null;
  clientUsPerDelivery: number | null;
  /** RSS at the end of the step, MiB. */
  frontRssMiB: number | null;
  storeRssMiB: number | null;
  /** Every delivery checked: nothing missing, duplicated or extra, no error. */
  verified: boolean;
  held: boolean;
  brokeBecause: string[];
}

export interface E2eMixResult {
  mix: Mix;
  status: 'ok' | 'failed';
  message?: string;
  watchers: number;
  clients: number;
  /** Deliveries one write owes on average. */
  deliveriesPerWrite: number;
  /** Time to open every watch, ms (slowest client). */
  openMs: number | null;
  steps: E2eStep[];
  /** Index in `steps` of the last step that held (the sustained rate); -1 when none did. */
  best: number;
  /**
   * After the search, with no more writes: everything the mix's writes owed, waited for up to
   * FINAL_DRAIN_MS however late; null when the mix failed before.
   */
  final: FinalCheck | null;
}

export interface FinalCheck {
  deliveries: number;
  expected: number;
  missing: number;
  duplicates: number;
  extra: number;
  errors: number;
  firstError: string | null;
  drainMs: number;
  /** Nothing missing, duplicated or extra, no watch error. */
  verified: boolean;
}

export interface E2eSystemResult {
  system: SystemName;
  status: 'ok' | 'unavailable' | 'failed';
  message?: string;
  durationMs: number;
  /** Creating the pods, ms. */
  preloadMs: number | null;
  mixes: Partial<Record<Mix, E2eMixResult>>;
}

export interface E2eResult {
  watchers: number;
  clients: number;
  pods: number;
  podBytes: number;
  stepMs: number;
  /** The rule a step must meet to hold. */
  rule: { lateMs: number; p99BoundMs: number; drainMs: number; minWriteFraction: number };
  durationMs: number;
  systems: E2eSystemResult[];
}
