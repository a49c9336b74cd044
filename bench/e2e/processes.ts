/**
 * The processes of an end-to-end run: etcd (from /usr/bin/etcd or $ETCD_BIN, in a temp dir, on
 * free loopback ports), `etcd grpc-proxy start`, `watchcache serve`, the floor server, and the
 * benchmark's own writer and client processes. Every child is tracked and SIGKILLed when the
 * benchmark process exits, however it exits; every temp dir is removed.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

function track(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** A started process: its pid, the tail of its stderr, and a stop that waits for it to be gone. */
export class Proc {
  readonly child: ChildProcess;
  readonly name: string;
  #stderr = '';
  readonly exited: Promise<void>;

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    track(child);
    child.stderr?.setEncoding('utf8');
    // Always drained: a full pipe would block the child's logging.
    child.stderr?.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get stderrTail(): string {
    return this.#stderr.trim().split('\n').slice(-6).join('\n');
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      ports.push((server.address() as AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

export function etcdBinary(): string | null {
  const candidates = [process.env['ETCD_BIN'], '/usr/bin/etcd', '/usr/local/bin/etcd'];
  for (const c of candidates) {
    if (c === undefined || c === '') continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

/** Polls `probe` until it is true, the process died or the time is up. */
async function waitFor(proc: Proc, what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${proc.name} exited while starting: ${proc.stderrTail}`);
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`${proc.name}: ${what} not within ${timeoutMs} ms: ${proc.stderrTail}`);
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return response.ok && ((await response.json()) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}

export interface Etcd {
  proc: Proc;
  endpoint: string;
  stop(): Promise<void>;
}

/** One etcd member in a fresh dir (RAM-backed /dev/shm when it exists: no fsync cost). */
export async function startEtcd(binary: string): Promise<Etcd> {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'watchcache-e2e-etcd-'));
  dirs.add(dir);
  const [client, peer] = await freePorts(2);
  const endpoint = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const args = [
    '--name=e2e',
    `--data-dir=${dir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=e2e=${peerUrl}`,
    '--initial-cluster-state=new',
    '--logger=zap',
    '--log-level=error',
    // Large enough that no step triggers a snapshot or a backend quota error.
    '--quota-backend-bytes=8589934592',
  ];
  const proc = new Proc('etcd', spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  const stop = async (): Promise<void> => {
    await proc.stop(2000);
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    await waitFor(proc, 'healthy', 20_000, () => healthy(endpoint));
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, endpoint, stop };
}

/** `etcd grpc-proxy start` in front of `endpoint`; resolves with its client address. */
export async function startGrpcProxy(binary: string, endpoint: string): Promise<{ proc: Proc; endpoint: string }> {
  const [port] = await freePorts(1);
  const listen = `127.0.0.1:${port}`;
  const proc = new Proc('grpc-proxy', spawn(binary, ['grpc-proxy', 'start', `--endpoints=${endpoint.replace(/^http:\/\//, '')}`, `--listen-addr=${listen}`], { stdio: ['ignore', 'ignore', 'pipe'] }));
  try {
    await waitFor(proc, 'healthy', 20_000, () => healthy(`http://${listen}`));
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, endpoint: `http://${listen}` };
}

/** The package root: this file is bench/e2e/processes.ts or dist/bench/e2e/processes.js. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'bench', 'e2e')) ? join(here, '..', '..', '..') : join(here, '..', '..');
}

function compiled(relative: string): string {
  const path = join(packageRoot(), 'dist', relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build`);
  return path;
}

/** Starts a server that prints `… on URL` on its stdout once it serves; resolves with the URL. */
async function serverWithUrl(name: string, child: ChildProcess, timeoutMs: number): Promise<{ proc: Proc; url: string }> {
  const proc = new Proc(name, child);
  let out = '';
  const url = new Promise<string>((resolve) => {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => {
      out += s;
      const m = / on (https?:\/\/\S+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
  });
  let found: string | undefined;
  void url.then((u) => (found = u));
  try {
    await waitFor(proc, 'its URL', timeoutMs, () => Promise.resolve(found !== undefined));
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, url: found! };
}

/**
 * `watchcache serve` on a free port, with the embedded store or over etcd. With
 * WATCHCACHE_E2E_CPU_PROF=DIR in the environment it runs under `node --cpu-prof`, writing one
 * profile per thread into DIR when it stops (how docs/benchmarks.md's profiles were taken).
 */
export function startWatchcache(options: { etcd?: string; workers: number }): Promise<{ proc: Proc; url: string }> {
  const profileDir = process.env['WATCHCACHE_E2E_CPU_PROF'];
  const node = profileDir === undefined || profileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const args = [...node, compiled('src/cli.js'), 'serve', '--port', '0', '--no-metrics', '--workers', String(options.workers)];
  if (options.etcd !== undefined) args.push('--etcd', options.etcd);
  return serverWithUrl('watchcache', spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }), 60_000);
}

export function startFloor(): Promise<{ proc: Proc; url: string }> {
  return serverWithUrl('floor', spawn(process.execPath, [compiled('bench/e2e/floor.js')], { stdio: ['ignore', 'pipe', 'pipe'] }), 20_000);
}

/** One of the benchmark's own processes (writer, client), with an IPC channel. */
export function forkBench(name: string, script: string): Proc {
  return new Proc(name, fork(compiled(`bench/e2e/${script}.js`), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
}
