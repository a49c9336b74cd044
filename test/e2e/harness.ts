/**
 * The moving parts of the fault suite, all real: `watchcache serve` as a child process (from
 * dist/, as shipped), watchers over node:http that behave like client-go's reflector, and a writer
 * that records every write the server acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AckedWrite, JsonObject, Selector, WatcherLogEntry, WatchEventType } from './history-checker.js';
import { keyOf, rvOf } from './history-checker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli.js');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds, polling; fails naming `what` (and `detail()`) after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail() === '' ? '' : `: ${detail()}`}`);
    await sleep(50);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const liveServers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

/** `watchcache serve --etcd URL` on a fixed port, so it can be killed and restarted at the same URL. */
export class ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly #args: string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  stderr = '';

  private constructor(name: string, port: number, etcd: string, workers: number) {
    this.name = name;
    this.url = `http://127.0.0.1:${port}`;
    this.#args = [CLI, 'serve', '--port', String(port), '--etcd', etcd, '--workers', String(workers)];
  }

  static async start(name: string, etcd: string, workers = 1): Promise<ServerProcess> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    const server = new ServerProcess(name, await freePort(), etcd, workers);
    await server.restart();
    return server;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** (Re)starts the process on the same port and waits for its "serving on" line. */
  async restart(): Promise<void> {
    await this.kill9();
    const child = spawn(process.execPath, this.#args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    liveServers.add(child);
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-8000)));
    this.#exited = new Promise((resolve) =>
      child.once('exit', () => {
        liveServers.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      }),
    );
    await waitFor(
      `${this.name} to print its serving line`,
      () => {
        if (this.#child !== child) throw new Error(`${this.name} exited while starting: ${this.stderr}`);
        return stdout.includes(`watchcache serving on ${this.url}\n`);
      },
      60_000,
      () => `stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(this.stderr)}`,
    );
  }

  async kill9(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** The sum of a Prometheus gauge or counter over its series that have `label` (0 when absent). */
  async metric(name: string, label = ''): Promise<number> {
    const reply = await httpCall(this.url, 'GET', '/metrics');
    let sum = 0;
    for (const line of reply.text.split('\n')) {
      if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }
}

export interface Reply {
  status: number;
  json: JsonObject | undefined;
  text: string;
}

/** One HTTP request on a fresh connection; rejects on connection errors (refused, reset). */
export function httpCall(url: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url + path, {
      method,
      agent: false,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('error', reject);
      res.on('end', () => {
        let json: JsonObject | undefined;
        try {
          json = JSON.parse(text) as JsonObject;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.end(payload);
  });
}

function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * A watcher as client-go's reflector runs one: LIST, then WATCH from the list's RV with
 * bookmarks; when a stream ends or breaks, watch again from the last RV seen (events and
 * bookmarks); on 410 (an ERROR event or the response status) LIST again; on 429, 5xx or a
 * refused connection retry after a short backoff, failing over to the next server on connection
 * errors. Everything it does and sees goes to `log` for the checker.
 */
export class HttpWatcher {
  readonly name: string;
  readonly selector: Selector;
  readonly namespace: string;
  readonly log: WatcherLogEntry[] = [];
  readonly state = new Map<string, JsonObject>();
  lastRV = 0;
  relists = 0;
  failovers = 0;
  readonly #servers: string[];
  #current = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #needList = true;
  #req: ClientRequest | undefined;
  #res: IncomingMessage | undefined;
  #stalled = false;

  readonly #timeoutSeconds: number | undefined;

  /** `timeoutSeconds`: ask the server to end each watch after this long (it sends a bookmark first). */
  constructor(name: string, selector: Selector, servers: readonly string[], namespace: string, timeoutSeconds?: number) {
    this.name = name;
    this.selector = selector;
    this.namespace = namespace;
    this.#servers = [...servers];
    this.#timeoutSeconds = timeoutSeconds;
  }

  get bookmarks(): number {
    return this.log.filter((e) => e.kind === 'event' && e.type === 'BOOKMARK').length;
  }

  get server(): string {
    return this.#servers[this.#current]!;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Disconnects and stops; `start()` later resumes from the last RV (an offline client). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#req?.destroy();
    this.#res?.destroy();
    await this.#loop;
  }

  /** Stops reading the stream (the socket stays open): a stalled client. */
  stall(): void {
    this.#stalled = true;
    this.#res?.pause();
  }

  unstall(): void {
    this.#stalled = false;
    this.#res?.resume();
  }

  /** Waits until the LIST and the first watch are up. */
  async ready(): Promise<void> {
    await waitFor(`${this.name} to list and watch`, () => this.log.some((e) => e.kind === 'watch'), 60_000);
  }

  #path(watchFrom?: number): string {
    const params = [this.selector.query];
    if (watchFrom !== undefined) {
      params.push('watch=true', `resourceVersion=${watchFrom}`, 'allowWatchBookmarks=true');
      if (this.#timeoutSeconds !== undefined) params.push(`timeoutSeconds=${this.#timeoutSeconds}`);
    }
    return `/api/v1/namespaces/${this.namespace}/pods?${params.filter((p) => p !== '').join('&')}`;
  }

  #failover(): void {
    if (this.#servers.length > 1) {
      this.#current = (this.#current + 1) % this.#servers.length;
      this.failovers++;
    }
  }

  async #run(): Promise<void> {
    let backoff = 50;
    while (this.#running) {
      try {
        if (this.#needList) await this.#list();
        await this.#watch();
        backoff = 50;
      } catch (err) {
        if (!this.#running) break;
        if ((err as { retryable?: boolean }).retryable !== true) {
          this.#failover();
        }
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  async #list(): Promise<void> {
    const reply = await httpCall(this.server, 'GET', this.#path());
    if (reply.status !== 200 || reply.json === undefined) {
      throw Object.assign(new Error(`${this.name}: LIST answered ${reply.status} ${reply.text.slice(0, 200)}`), { retryable: isRetryable(reply.status) });
    }
    const rv = Number((reply.json['metadata'] as JsonObject)['resourceVersion']);
    const items = reply.json['items'] as JsonObject[];
    this.log.push({ kind: 'list', rv, items });
    this.state.clear();
    for (const item of items) this.state.set(keyOf(item), item);
    this.lastRV = rv;
    this.relists++;
    this.#needList = false;
  }

  /** One watch connection, until it ends. */
  #watch(): Promise<void> {
    const from = this.lastRV;
    const server = this.server;
    return new Promise<void>((resolve, reject) => {
      const req = request(server + this.#path(from), { agent: false, headers: { accept: 'application/json' } });
      this.#req = req;
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        this.#req = undefined;
        this.#res = undefined;
        if (err === undefined) resolve();
        else reject(err);
      };
      req.on('error', (err) => finish(err));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          res.on('end', () => {
            if (status === 410) {
              this.#needList = true;
              finish();
            } else finish(Object.assign(new Error(`${this.name}: WATCH answered ${status}`), { retryable: isRetryable(status) }));
          });
          res.on('error', (err) => finish(err));
          return;
        }
        this.#res = res;
        this.log.push({ kind: 'watch', from, server });
        if (this.#stalled) res.pause();
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.trim() !== '') this.#onEvent(JSON.parse(line) as { type: WatchEventType; object: JsonObject });
          }
        });
        res.on('end', () => finish());
        res.on('error', (err) => finish(err));
        // A stream cut before its end (the server died) is a connection error: fail over.
        res.on('close', () => finish(res.complete ? undefined : new Error(`${this.name}: the stream from ${server} broke`)));
      });
      req.end();
    });
  }

  #onEvent(event: { type: WatchEventType; object: JsonObject }): void {
    this.log.push({ kind: 'event', type: event.type, object: event.object });
    const { type, object } = event;
    if (type === 'ERROR') {
      if (object['code'] === 410) this.#needList = true;
      return;
    }
    const rv = rvOf(object);
    if (rv > this.lastRV) this.lastRV = rv;
    if (type === 'ADDED' || type === 'MODIFIED') this.state.set(keyOf(object), object);
    else if (type === 'DELETED') this.state.delete(keyOf(object));
  }
}

export interface WriterOptions {
  namespace: string;
  /** Pod names are picked from this many. */
  names: number;
  /** Extra bytes per pod (an annotation), to fill socket buffers. */
  padBytes?: number;
  seed?: number;
}

/**
 * Creates, updates and deletes pods over HTTP with labels (`flip`, `group`) and `spec.nodeName`
 * that change at random, so selectors see ADDED and DELETED flips. It records every write the
 * server acknowledged; a write whose answer was lost is not recorded (it may or may not be in the
 * store, and the checker does not care). On 5xx, 429 or a connection error it retries after a
 * short backoff on the next server.
 */
export class Writer {
  readonly acked: AckedWrite[] = [];
  failures = 0;
  readonly #servers: string[];
  #current = 0;
  readonly #options: WriterOptions;
  readonly #exists = new Map<string, boolean>();
  #seed: number;
  #seq = 0;

  constructor(servers: readonly string[], options: WriterOptions) {
    this.#servers = [...servers];
    this.#options = options;
    this.#seed = options.seed ?? 1;
  }

  #random(): number {
    // mulberry32: a seeded, reproducible sequence.
    let t = (this.#seed = (this.#seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  #pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.#random() * values.length)]!;
  }

  #body(name: string): JsonObject {
    const seq = ++this.#seq;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: this.#options.namespace,
        labels: { flip: this.#pick(['yes', 'no']), group: this.#pick(['a', 'b', 'c']) },
        annotations: { seq: String(seq), ...(this.#options.padBytes ? { pad: 'x'.repeat(this.#options.padBytes) } : {}) },
      },
      spec: { containers: [{ name: 'app', image: 'busybox' }], nodeName: this.#pick(['node-0', 'node-1', 'node-2']) },
      status: { phase: 'Pending' },
    };
  }

  /** Writes until `count` writes have been acknowledged in all (or `stop()` says so). */
  async run(count: number, shouldStop: () => boolean = () => false): Promise<void> {
    let backoff = 50;
    while (this.acked.length < count && !shouldStop()) {
      try {
        await this.#one();
        backoff = 50;
      } catch {
        this.failures++;
        if (this.#servers.length > 1) this.#current = (this.#current + 1) % this.#servers.length;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  /** Resolves once `n` writes have been acknowledged. */
  async untilAcked(n: number, timeoutMs = 120_000): Promise<void> {
    await waitFor(`${n} acknowledged writes`, () => this.acked.length >= n, timeoutMs, () => `${this.acked.length} so far, ${this.failures} failures`);
  }

  async #one(): Promise<void> {
    const ns = this.#options.namespace;
    const name = `pod-${Math.floor(this.#random() * this.#options.names)}`;
    const key = `${ns}/${name}`;
    const url = this.#servers[this.#current]!;
    const exists = this.#exists.get(name);
    let op: AckedWrite['op'];
    let reply: Reply;
    if (exists === false || exists === undefined) {
      op = 'create';
      reply = await httpCall(url, 'POST', `/api/v1/namespaces/${ns}/pods`, this.#body(name));
    } else if (this.#random() < 0.8) {
      op = 'update';
      reply = await httpCall(url, 'PUT', `/api/v1/namespaces/${ns}/pods/${name}`, this.#body(name));
    } else {
      op = 'delete';
      reply = await httpCall(url, 'DELETE', `/api/v1/namespaces/${ns}/pods/${name}`);
    }
    if (reply.status === 201 || reply.status === 200) {
      const object = reply.json!;
      this.acked.push({ op, key, rv: rvOf(object), object });
      this.#exists.set(name, op !== 'delete');
      return;
    }
    if (reply.status === 409 && op === 'create') this.#exists.set(name, true);
    else if (reply.status === 404) this.#exists.set(name, false);
    else throw new Error(`${op} ${key}: ${reply.status} ${reply.text.slice(0, 200)}`);
  }
}
