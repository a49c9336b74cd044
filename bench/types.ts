import type { E2eResult } from './e2e/types.js';

/**
 * The shapes of the benchmark's results: what a child process reports, what the JSON file holds,
 * what CSV rows and the HTML chart are made from. Plain data only, so that everything crosses
 * the IPC channel and JSON unchanged. Numbers that could not be measured are `null`, never 0.
 */

export type Profile = 'full' | 'quick' | 'smoke';

export const SCENARIOS = ['kubelet', 'selector-heavy', 'initial-list', 'window-burst', 'sharded'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Resource use over one measured window (a kubelet step, a selector-heavy run, a list phase). */
export interface WindowMetrics {
  /** Wall time of the window, ms. */
  wallMs: number;
  /** process.cpuUsage() over the window: user + system of the whole process (every thread), ms. */
  processCpuMs: number;
  /** CPU time of the main thread alone (Linux /proc schedstat), ms; null elsewhere. */
  mainThreadCpuMs: number | null;
  /** Time the main thread was runnable but waiting for a CPU (schedstat), ms: contention. */
  mainThreadWaitMs: number | null;
  /**
   * CPU the rest of the machine used meanwhile (all CPUs busy, /proc/stat, minus this process),
   * ms: other processes competing for the 2 cores. Large values mean the window is contaminated.
   */
  foreignCpuMs: number | null;
  /** CPU time of the threads the cacher started (its workers, by thread creation), ms; null when none or not on Linux. */
  workerThreadsCpuMs: number | null;
  /** performance.eventLoopUtilization() of the main thread over the window, 0..1. */
  mainElu: number;
  /** Event-loop utilization of each worker, when the cacher exposes it; null otherwise. */
  workerElu: number[] | null;
  /** monitorEventLoopDelay() over the window: p50, p99 and max, ms. */
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** RSS at the end of the window, MiB. */
  rssMiB: number;
  /** Main-isolate heapUsed at the end of the window, MiB. */
  heapUsedMiB: number;
}

export interface LatencySummary {
  /** Frames whose write time was read (a sample of the deliveries). */
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** One rate step of the kubelet scenario, or the single run of selector-heavy. */
export interface ThroughputRun {
  /** Writes/s asked for; null for "as fast as the cache keeps up". */
  targetRate: number | null;
  writes: number;
  /** Writes per second from the first write to the last delivery of the run (drain included). */
  eventsPerSec: number;
  deliveries: number;
  /** FrameWatch.ack() calls the consumers made (one per watcher per event-loop turn with frames). */
  acks: number;
  /** Deliveries the writes should have produced (every watcher whose selector matches). */
  expectedDeliveries: number;
  deliveriesPerSec: number;
  /** Time from the last write until every expected delivery arrived (or the drain timeout), ms. */
  drainMs: number;
  latency: LatencySummary;
  /** Process CPU per delivery, µs (every thread: see WindowMetrics.processCpuMs). */
  cpuUsPerDelivery: number | null;
  /** Main-thread CPU per delivery, µs (schedstat); null when not measurable. */
  mainCpuUsPerDelivery: number | null;
  /** Watchers the cacher closed during the run (lapped, stalled, ...), by reason. */
  terminated: Record<string, number>;
  /** Relists of the cache during the run (a relist ends every watcher). */
  relists: number;
  /** Whether the run kept up; the reasons when not. */
  sustained: boolean;
  brokeBecause: string[];
  /**
   * The cache delivered everything the writes owed, within the latency bound and without
   * dropping a watcher, even if the writer could not reach its rate: the main thread was
   * saturated, but by a load the cache kept up with.
   */
  keptUp: boolean;
  window: WindowMetrics;
}

export interface IdleWatcherMemory {
  watchers: number;
  /** (heapUsed after creating the idle watchers − before) / N, main isolate, after global.gc(), bytes. */
  heapPerWatcherBytes: number;
  /** The same measured for the benchmark's own sink objects alone (included in the number above). */
  sinkBytes: number;
  /** (RSS after − before) / N: every isolate and native memory, but page-granular and noisy, bytes. */
  rssPerWatcherBytes: number;
}

export interface KubeletResult {
  scenario: 'kubelet';
  nodes: number;
  nodeWatchers: number;
  clusterWatchers: number;
  labelWatchers: number;
  pods: number;
  podBytes: number;
  deliveriesPerWrite: number;
  idle: IdleWatcherMemory;
  steps: ThroughputRun[];
  /** Index into `steps` of the best sustained step; -1 when none held. */
  best: number;
}

export interface SelectorHeavyResult {
  scenario: 'selector-heavy';
  watchers: number;
  pods: number;
  podBytes: number;
  run: ThroughputRun;
}

export interface InitialListPhase {
  watchers: number;
  /** Per watcher, ms from the watch call to its initial-events-end BOOKMARK (null: never came). */
  timeToBookmarkMs: Array<number | null>;
  /** Frames each watcher received before its bookmark (should equal the object count). */
  framesPerWatcher: number[];
  /** Peak RSS of the child process so far (resourceUsage().maxRSS), MiB. */
  peakRssMiB: number;
  window: WindowMetrics;
}

export interface InitialListResult {
  scenario: 'initial-list';
  objects: number;
  podBytes: number;
  /** From createCacher() until ready(): the reflector's list and the cache fill, ms. */
  fillMs: number;
  phases: InitialListPhase[];
}

/** One watcher of the window-burst scenario, started from a revision in the past. */
export interface WindowBurstWatcher {
  /** How far behind the end of the burst its start revision was written, s. */
  behindSeconds: number;
  /** Events it received (its 410 ERROR frame included, if it got one). */
  events: number;
  /** Events it was owed: every revision after its start. */
  expected: number;
}

export interface WindowBurstResult {
  scenario: 'window-burst';
  windowSeconds: number;
  baseRate: number;
  /** baseRate × the burst factor (10). */
  burstRate: number;
  burstSeconds: number;
  writes: number;
  writeFailures: number;
  podBytes: number;
  /** windowMinBytes / windowMaxBytes of the cacher. */
  minBytes: number;
  maxBytes: number;
  /** The most bytes the window had. */
  peakWindowBytes: number;
  windowBytesAtEnd: number;
  windowGrowths: number;
  /** Records evicted while younger than windowSeconds (0 unless the cap was reached). */
  shortWindowEvictions: number;
  /** Watchers (at most windowSeconds behind) that got 410 Gone: must be 0. */
  gone410: number;
  errors: string[];
  watchers: WindowBurstWatcher[];
  window: WindowMetrics;
}


/** One way R controller replicas watch: each the full stream, or each its own shard. */
export interface ShardedMode {
  run: ThroughputRun;
  /** Deliveries per write; every write is useful to exactly one replica. */
  deliveriesPerUsefulEvent: number | null;
  /** Process CPU (every thread) per write, µs. */
  cpuUsPerUsefulEvent: number | null;
}

export interface ShardedResult {
  scenario: 'sharded';
  replicas: number;
  pods: number;
  podBytes: number;
  /** R replicas × the full stream (client-side sharding). */
  full: ShardedMode;
  /** R shardSelector ranges (server-side sharding, KEP-5866). */
  sharded: ShardedMode;
}

export type ScenarioDetail = KubeletResult | SelectorHeavyResult | InitialListResult | WindowBurstResult | ShardedResult;

export type ModeStatus = 'ok' | 'unavailable' | 'failed';

/** One scenario in one mode (one child process). */
export interface ModeResult {
  scenario: ScenarioName;
  workers: number;
  status: ModeStatus;
  /** For 'unavailable' and 'failed': why. */
  message?: string;
  /** Wall time of the child process, ms. */
  durationMs: number;
  /** The numbers the table, the CSV and the chart show (see report.ts); empty unless ok. */
  headline: Record<string, number | null>;
  detail?: ScenarioDetail;
}

export interface MicroCase {
  name: string;
  /** benny's ops/s of one call of the case. */
  opsPerSec: number;
  marginPct: number;
  samples: number;
  /** Items one call handles (records scanned, selectors matched); items/s = ops/s × this. */
  itemsPerOp: number;
  itemsPerSec: number;
  /** µs per item. */
  usPerItem: number;
}

export interface MicroSuite {
  name: string;
  cases: MicroCase[];
  /** Facts worth keeping next to the rates (payload sizes, ...). */
  notes: Record<string, number | string>;
}

export interface MicroResult {
  status: 'ok' | 'failed';
  message?: string;
  durationMs: number;
  suites: MicroSuite[];
}

export type TargetStatus = 'PASS' | 'MISS' | 'N/A';

export interface TargetCheck {
  id: string;
  description: string;
  /** The bound, in `unit`. */
  bound: string;
  measured: number | null;
  unit: string;
  status: TargetStatus;
  note: string;
}

export interface MachineInfo {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  totalMemMiB: number;
  gitSha: string | null;
}

export interface BenchReport {
  schema: 'watchcache-bench/1';
  profile: Profile;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  /** os.loadavg() when the run started and ended: other load on the machine skews every number. */
  loadAverage: { start: number[]; end: number[] };
  options: { scenarios: ScenarioName[]; e2e: boolean; workers: number[]; micro: boolean };
  micro: MicroResult | null;
  /** scenario → workers (as a string key) → result. */
  scenarios: Partial<Record<ScenarioName, Record<string, ModeResult>>>;
  /** The end-to-end scenario (bench/e2e); null when not run. */
  e2e: E2eResult | null;
  targets: TargetCheck[];
}

/** Messages a child sends to the runner over IPC. */
export type ChildMessage =
  | { type: 'progress'; text: string; milestone: boolean }
  | { type: 'result'; result: ModeResult }
  | { type: 'micro'; result: MicroResult };
