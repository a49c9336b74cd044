/**
 * The sizes of every scenario per profile. `full` is the workload; `quick` keeps the
 * whole run (three modes of three scenarios plus the micro-benchmarks) under two minutes on a
 * 2-core machine (test/bench/bench.test.ts runs it); `smoke` only proves the harness end to end
 * (test/packaging.test.ts runs it from the installed package). Every load is bounded both in
 * count and in time.
 */
import type { Profile } from './types.js';

export interface KubeletSize {
  nodes: number;
  /** One `spec.nodeName=node-i` watcher per node, for the first `nodeWatchers` nodes. */
  nodeWatchers: number;
  clusterWatchers: number;
  labelWatchers: number;
  pods: number;
  /** Write rates tried in order (writes/s); the run stops at the first step that breaks. */
  rates: number[];
  stepMs: number;
  /** A step fails when p99 commit→delivery latency exceeds this. */
  p99BoundMs: number;
  /** How long to wait after a step's last write for its deliveries before calling it lag. */
  drainTimeoutMs: number;
}

export interface SelectorHeavySize {
  watchers: number;
  pods: number;
  runMs: number;
  maxWrites: number;
  /** Writes allowed ahead of their deliveries: the writer waits beyond this (the ring is never lapped). */
  maxInFlight: number;
}

export interface ShardedSize {
  /** Controller replicas: R watchers of the full stream, then R shard-ranged watchers. */
  replicas: number;
  pods: number;
  runMs: number;
  maxWrites: number;
  maxInFlight: number;
}

export interface InitialListSize {
  objects: number;
  /** Watcher counts, one phase each, in order. */
  phases: number[];
  phaseTimeoutMs: number;
}

export interface WindowBurstSize {
  windowSeconds: number;
  /** Steady writes/s before the burst; the burst writes at burstFactor times that. */
  baseRate: number;
  burstFactor: number;
  burstSeconds: number;
  pods: number;
  /** windowMinBytes / windowMaxBytes of the cacher. */
  minBytes: number;
  maxBytes: number;
  /** How long the watchers behind may take to replay what they are owed, ms. */
  drainTimeoutMs: number;
}

export interface MicroSize {
  /** benchmark.js per-case bounds, seconds. */
  minTime: number;
  maxTime: number;
  minSamples: number;
}

/** The end-to-end scenario (bench/e2e): watchers over real sockets in client processes. */
export interface E2eSize {
  watchers: number;
  /** Client processes; the watchers are split evenly between them. */
  clients: number;
  pods: number;
  /** Write rates tried in order per mix (writes/s); the search stops at the first step that breaks. */
  rates: { all: number[]; kubelet: number[] };
  stepMs: number;
  /** A delivery later than this after its write breaks the step ("kept up": within 2 s). */
  lateMs: number;
  p99BoundMs: number;
  /** How long the clients wait, after the writer's last write completed, for what the step owes. */
  drainMs: number;
}

export interface ProfileSizes {
  kubelet: KubeletSize;
  selectorHeavy: SelectorHeavySize;
  sharded: ShardedSize;
  initialList: InitialListSize;
  windowBurst: WindowBurstSize;
  micro: MicroSize;
  e2e: E2eSize;
  /** Kill a scenario child that runs longer than this, ms. */
  childTimeoutMs: number;
  /** Bytes of each pod's JSON. */
  podBytes: number;
  /** Whether kubelet and selector-heavy fill the ring once before measuring (see warmRing). */
  warmRing: boolean;
}

const POD_BYTES = 2048;
const MIB = 1024 * 1024;

export const PROFILES: Record<Profile, ProfileSizes> = {
  full: {
    kubelet: {
      nodes: 5000,
      nodeWatchers: 5000,
      clusterWatchers: 100,
      labelWatchers: 500,
      pods: 10_000,
      rates: [1000, 2000, 3000, 5000, 7000, 10_000, 15_000, 20_000, 30_000, 40_000],
      stepMs: 3000,
      p99BoundMs: 1000,
      drainTimeoutMs: 3000,
    },
    selectorHeavy: { watchers: 2000, pods: 10_000, runMs: 5000, maxWrites: 500_000, maxInFlight: 1000 },
    sharded: { replicas: 8, pods: 10_000, runMs: 5000, maxWrites: 500_000, maxInFlight: 1000 },
    initialList: { objects: 150_000, phases: [1, 10], phaseTimeoutMs: 120_000 },
    // The burst: 10x the write rate for 10 s, watchers up to 75 s behind.
    windowBurst: { windowSeconds: 75, baseRate: 200, burstFactor: 10, burstSeconds: 10, pods: 2000, minBytes: 16 * MIB, maxBytes: 512 * MIB, drainTimeoutMs: 60_000 },
    micro: { minTime: 0.05, maxTime: 2, minSamples: 5 },
    e2e: {
      watchers: 2000,
      clients: 4,
      pods: 10_000,
      rates: { all: [10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500], kubelet: [50, 100, 250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10_000] },
      stepMs: 5000,
      lateMs: 2000,
      p99BoundMs: 1000,
      drainMs: 2000,
    },
    childTimeoutMs: 300_000,
    podBytes: POD_BYTES,
    warmRing: true,
  },
  quick: {
    kubelet: {
      nodes: 500,
      nodeWatchers: 500,
      clusterWatchers: 100,
      labelWatchers: 50,
      pods: 2000,
      rates: [2000, 5000, 7000, 10_000, 20_000],
      stepMs: 1000,
      p99BoundMs: 1000,
      drainTimeoutMs: 1500,
    },
    selectorHeavy: { watchers: 2000, pods: 4000, runMs: 2000, maxWrites: 100_000, maxInFlight: 1000 },
    sharded: { replicas: 4, pods: 2000, runMs: 1000, maxWrites: 100_000, maxInFlight: 1000 },
    initialList: { objects: 15_000, phases: [1, 10], phaseTimeoutMs: 30_000 },
    // The same shape in a short time: windowSeconds scaled down, the window's memory too.
    windowBurst: { windowSeconds: 4, baseRate: 200, burstFactor: 10, burstSeconds: 0.5, pods: 1000, minBytes: 1 * MIB, maxBytes: 64 * MIB, drainTimeoutMs: 15_000 },
    micro: { minTime: 0.05, maxTime: 0.25, minSamples: 5 },
    e2e: {
      watchers: 200,
      clients: 2,
      pods: 500,
      rates: { all: [10, 20], kubelet: [50, 100] },
      stepMs: 750,
      lateMs: 2000,
      p99BoundMs: 1000,
      drainMs: 2000,
    },
    childTimeoutMs: 60_000,
    podBytes: POD_BYTES,
    warmRing: true,
  },
  smoke: {
    kubelet: {
      nodes: 50,
      nodeWatchers: 50,
      clusterWatchers: 5,
      labelWatchers: 5,
      pods: 200,
      rates: [500, 1000],
      stepMs: 300,
      p99BoundMs: 1000,
      drainTimeoutMs: 1000,
    },
    selectorHeavy: { watchers: 50, pods: 200, runMs: 300, maxWrites: 5000, maxInFlight: 500 },
    sharded: { replicas: 2, pods: 200, runMs: 300, maxWrites: 5000, maxInFlight: 500 },
    initialList: { objects: 500, phases: [1, 2], phaseTimeoutMs: 10_000 },
    windowBurst: { windowSeconds: 1, baseRate: 100, burstFactor: 10, burstSeconds: 0.2, pods: 100, minBytes: 256 * 1024, maxBytes: 16 * MIB, drainTimeoutMs: 5_000 },
    micro: { minTime: 0.01, maxTime: 0.05, minSamples: 2 },
    e2e: {
      watchers: 20,
      clients: 2,
      pods: 100,
      rates: { all: [10], kubelet: [20] },
      stepMs: 500,
      lateMs: 2000,
      p99BoundMs: 1000,
      drainMs: 2000,
    },
    childTimeoutMs: 30_000,
    podBytes: POD_BYTES,
    warmRing: false,
  },
};
