/**
 * Real etcd processes for tests: one member or a small cluster on free loopback ports, each in a
 * fresh temp data dir, with handles to SIGKILL, restart, SIGSTOP and SIGCONT members.
 *
 * Every process and data dir is also tracked globally and removed on process exit, so a failed or
 * interrupted test run leaves no etcd behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartEtcdOptions {
  /**
   * `--experimental-watch-progress-notify-interval`, in ms. Short by default so progress
   * notifications flow while a test runs (etcd's own default is 10 minutes).
   */
  progressNotifyIntervalMs?: number;
  /** `--max-request-bytes` (etcd's default is 1.5 MiB). */
  maxRequestBytes?: number;
  /** Raft heartbeat in ms (default 25: tests want fast elections, not WAN tolerance). */
  heartbeatIntervalMs?: number;
  /** Raft election timeout in ms (default 250, must be >= 5 heartbeats). */
  electionTimeoutMs?: number;
  /** How long to wait for a member to answer /health before failing (default 20 s). */
  startTimeoutMs?: number;
  /** Extra command line flags, appended last. */
  extraArgs?: readonly string[];
}

export interface EtcdMember {
  readonly name: string;
  /** Client URL, e.g. `http://127.0.0.1:23791`. */
  readonly endpoint: string;
  readonly dataDir: string;
  /** Whether the process is alive (a paused process is alive). */
  readonly running: boolean;
  /** SIGKILL and wait for the process to be gone. No-op when already dead. */
  kill9(): Promise<void>;
  /**
   * Start the member again with the same data dir, ports and flags, and wait until it answers
   * /health (pass `{ waitHealthy: false }` when it cannot have a leader yet, e.g. while a cluster
   * is still below quorum). Kills a running process first.
   */
  restart(options?: { waitHealthy?: boolean }): Promise<void>;
  /** Wait until the member answers /health with a leader. */
  waitHealthy(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets open but stops answering. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
}

export interface EtcdHandle extends EtcdMember {
  /** `[endpoint]`, ready to pass to a client. */
  readonly endpoints: string[];
  /** Kill the process and remove its data dir. Idempotent. */
  stop(): Promise<void>;
}

export interface EtcdClusterHandle {
  readonly members: readonly EtcdMember[];
  readonly endpoints: string[];
  /** Kill every member and remove the data dirs. Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'etcd not found: install it with `apt-get update && apt-get install -y etcd-server`';

/** Children and dirs to clean up however the test process ends. */
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      // SIGKILL also ends a SIGSTOPped process, which SIGTERM would not.
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      // Re-raise after cleanup so the default disposition (exit) still applies.
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The etcd binary: $ETCD_BIN, then $PATH, then the usual install locations. */
export function findEtcdBinary(): string {
  const fromEnv = process.env['ETCD_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`${INSTALL_HINT} (ETCD_BIN=${fromEnv} is not executable)`);
  }
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    const candidate = join(dir, 'etcd');
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(INSTALL_HINT);
}

/**
 * Prefer RAM-backed /dev/shm: fsync there is free, which makes etcd writes fast, and data still
 * survives a SIGKILL of etcd. Containers often cap /dev/shm at 64 MiB, smaller than one
 * preallocated WAL segment, so only use it when it is roomy.
 */
function tempRoot(): string {
  try {
    const stats = statfsSync('/dev/shm');
    accessSync('/dev/shm', fsConstants.W_OK);
    if (stats.bavail * stats.bsize > 1024 * 1024 * 1024) return '/dev/shm';
  } catch {
    // not available
  }
  return tmpdir();
}

async function freePorts(count: number): Promise<number[]> {
  // Hold every listener until all ports are known so the same port is never handed out twice.
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      ports.push((server.address() as AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

async function isHealthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return false;
    const body = (await response.json()) as { health?: unknown };
    return body.health === 'true' || body.health === true;
  } catch {
    return false;
  }
}

interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  initialCluster: string;
  clusterToken: string;
}

class Member implements EtcdMember {
  readonly name: string;
  readonly endpoint: string;
  readonly dataDir: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderrTail = '';
  private readonly args: string[];
  private readonly startTimeoutMs: number;

  constructor(
    private readonly binary: string,
    spec: MemberSpec,
    options: StartEtcdOptions,
  ) {
    this.name = spec.name;
    this.endpoint = `http://127.0.0.1:${spec.clientPort}`;
    this.dataDir = spec.dataDir;
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
    const peerUrl = `http://127.0.0.1:${spec.peerPort}`;
    this.args = [
      `--name=${spec.name}`,
      `--data-dir=${spec.dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${spec.initialCluster}`,
      `--initial-cluster-token=${spec.clusterToken}`,
      '--initial-cluster-state=new',
      `--heartbeat-interval=${options.heartbeatIntervalMs ?? 25}`,
      `--election-timeout=${options.electionTimeoutMs ?? 250}`,
      `--experimental-watch-progress-notify-interval=${options.progressNotifyIntervalMs ?? 500}ms`,
      '--snapshot-count=10000',
      '--logger=zap',
      '--log-level=error',
      ...(options.maxRequestBytes !== undefined ? [`--max-request-bytes=${options.maxRequestBytes}`] : []),
      ...(options.extraArgs ?? []),
    ];
  }

  get running(): boolean {
    return this.child !== null;
  }

  spawnProcess(): void {
    if (this.child !== null) throw new Error(`etcd member ${this.name} is already running`);
    const child = spawn(this.binary, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    liveChildren.add(child);
    this.stderrTail = '';
    // Always drain stderr: a full pipe would block etcd's logger and freeze the member.
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        liveChildren.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      });
    });
    child.once('error', () => {
      // 'exit' may not follow a spawn failure; make sure waiters are released.
      liveChildren.delete(child);
      if (this.child === child) this.child = null;
    });
  }

  async waitHealthy(): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.child === null) {
        throw new Error(`etcd member ${this.name} exited while starting:\n${this.stderrTail}`);
      }
      if (await isHealthy(this.endpoint)) return;
      await sleep(50);
    }
    throw new Error(
      `etcd member ${this.name} did not become healthy within ${this.startTimeoutMs} ms:\n${this.stderrTail}`,
    );
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  async restart(options: { waitHealthy?: boolean } = {}): Promise<void> {
    await this.kill9();
    this.spawnProcess();
    if (options.waitHealthy ?? true) await this.waitHealthy();
  }

  pause(): void {
    if (this.child === null) throw new Error(`etcd member ${this.name} is not running`);
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    if (this.child === null) throw new Error(`etcd member ${this.name} is not running`);
    this.child.kill('SIGCONT');
  }
}

async function startMembers(count: number, options: StartEtcdOptions): Promise<{ members: Member[]; root: string }> {
  const binary = findEtcdBinary();
  installExitHook();
  const root = mkdtempSync(join(tempRoot(), 'watchcache-etcd-'));
  liveDirs.add(root);
  const members: Member[] = [];
  try {
    const ports = await freePorts(count * 2);
    const names = Array.from({ length: count }, (_, i) => `m${i}`);
    const initialCluster = names.map((name, i) => `${name}=http://127.0.0.1:${ports[count + i]}`).join(',');
    const clusterToken = `watchcache-test-${process.pid}-${ports[0]}`;
    for (let i = 0; i < count; i++) {
      members.push(
        new Member(
          binary,
          {
            name: names[i] as string,
            clientPort: ports[i] as number,
            peerPort: ports[count + i] as number,
            dataDir: join(root, names[i] as string),
            initialCluster,
            clusterToken,
          },
          options,
        ),
      );
    }
    for (const member of members) member.spawnProcess();
    // Members of a new cluster only get healthy together, so wait for all of them at once.
    await Promise.all(members.map((m) => m.waitHealthy()));
    return { members, root };
  } catch (err) {
    await Promise.all(members.map((m) => m.kill9()));
    rmSync(root, { recursive: true, force: true });
    liveDirs.delete(root);
    throw err;
  }
}

function stopper(members: readonly Member[], root: string): () => Promise<void> {
  let stopped: Promise<void> | null = null;
  return () => {
    stopped ??= (async () => {
      await Promise.all(members.map((m) => m.kill9()));
      rmSync(root, { recursive: true, force: true });
      liveDirs.delete(root);
    })();
    return stopped;
  };
}

/** Start a one-member etcd on free loopback ports and wait until it serves. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdHandle> {
  const { members, root } = await startMembers(1, options);
  const member = members[0] as Member;
  const stop = stopper(members, root);
  return {
    name: member.name,
    endpoint: member.endpoint,
    endpoints: [member.endpoint],
    dataDir: member.dataDir,
    get running() {
      return member.running;
    },
    kill9: () => member.kill9(),
    restart: (o) => member.restart(o),
    waitHealthy: () => member.waitHealthy(),
    pause: () => member.pause(),
    resume: () => member.resume(),
    stop,
  };
}

/** Start an N-member etcd cluster (N >= 1) on free loopback ports and wait until every member serves. */
export async function startEtcdCluster(size: number, options: StartEtcdOptions = {}): Promise<EtcdClusterHandle> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`cluster size must be a positive integer, got ${size}`);
  const { members, root } = await startMembers(size, options);
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    stop: stopper(members, root),
  };
}
