/**
 * Helpers for the HTTP front's tests: a real server on 127.0.0.1:0 over a MemoryStorage, plain
 * requests through node's fetch, and a watch reader over node:http that keeps the raw chunks, so
 * the tests see the stream exactly as a client does (lines, blank heartbeats, the end).
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { MemoryStorage } from '../../src/storage/memory.js';
import { startServer, type ServerOptions, type WatchcacheServer } from '../../src/server/server.js';
import type { Cacher } from '../../src/cache/cacher.js';

export interface TestServer {
  server: WatchcacheServer;
  storage: MemoryStorage;
  url: string;
  cacher(plural: string): Cacher;
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const storage = (options.storage as MemoryStorage | undefined) ?? new MemoryStorage();
  const server = await startServer({ port: 0, ...options, storage });
  return {
    server,
    storage,
    url: server.url,
    cacher: (plural) => server.caches.find((c) => c.resource.plural === plural)!.cacher,
    async close() {
      await server.close();
      await storage.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

export async function call(url: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Reply> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  let body = rest.body;
  if (json !== undefined) {
    body = JSON.stringify(json);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const response = await fetch(url + path, { ...rest, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: parsed };
}

/** The smallest valid pod spec: kube (and the schema validation) wants a container with an image. */
export const POD_SPEC = { containers: [{ name: 'app', image: 'busybox' }] } as const;

/**
 * POD_SPEC as the server stores it: with kube-apiserver's defaults (SetDefaults_Pod, _PodSpec and
 * _Container; `busybox` has no tag, so it is pulled Always).
 */
export const STORED_POD_SPEC = {
  containers: [{ name: 'app', image: 'busybox', imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
  restartPolicy: 'Always',
  dnsPolicy: 'ClusterFirst',
  schedulerName: 'default-scheduler',
  terminationGracePeriodSeconds: 30,
  securityContext: {},
  enableServiceLinks: true,
} as const;

/** A pod template for the workload kinds, labelled `app`. */
export function podTemplate(app: string): { metadata: { labels: Record<string, string> }; spec: typeof POD_SPEC } {
  return { metadata: { labels: { app } }, spec: POD_SPEC };
}

/** The smallest valid spec of a Deployment, ReplicaSet, StatefulSet or DaemonSet selecting `app`. */
export function workloadSpec(app: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { selector: { matchLabels: { app } }, template: podTemplate(app), ...extra };
}

export function podBody(name: string, extra: { namespace?: string; labels?: Record<string, string>; nodeName?: string; phase?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(extra.namespace === undefined ? {} : { namespace: extra.namespace }), ...(extra.labels === undefined ? {} : { labels: extra.labels }) },
    spec: { ...POD_SPEC, ...(extra.nodeName === undefined ? {} : { nodeName: extra.nodeName }) },
    status: { phase: extra.phase ?? 'Pending' },
  };
}

/** Creates a pod through the API; returns its resourceVersion. */
export async function createPod(url: string, name: string, extra: Parameters<typeof podBody>[1] = {}, namespace = 'default'): Promise<number> {
  const reply = await call(url, `/api/v1/namespaces/${namespace}/pods`, { method: 'POST', json: podBody(name, extra) });
  if (reply.status !== 201) throw new Error(`creating pod ${name}: ${reply.status} ${reply.text}`);
  return Number(reply.json.metadata.resourceVersion);
}

export interface WatchEvent {
  type: string;
  object: any;
}

/** A watch over node:http: raw chunks, parsed event lines, and the end of the stream. */
export class WatchReader {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly events: WatchEvent[] = [];
  /** Lines that were blank (heartbeats). */
  blankLines = 0;
  /** The response body ended (the server closed the stream). */
  ended = false;
  readonly #res: IncomingMessage;
  #buffer = '';
  #waiters: Array<() => void> = [];

  constructor(res: IncomingMessage) {
    this.#res = res;
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.trim() === '') this.blankLines++;
        else this.events.push(JSON.parse(line) as WatchEvent);
      }
      this.#wake();
    });
    const done = (): void => {
      this.ended = true;
      this.#wake();
    };
    res.on('end', done);
    res.on('close', done);
    res.on('error', done);
  }

  /** The bytes left after the last newline (a well-formed stream leaves none). */
  get partial(): string {
    return this.#buffer;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits until `check` holds; fails with `what` and what was seen after `timeoutMs`. */
  async until(what: string, check: (w: WatchReader) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`watch: timed out after ${timeoutMs} ms waiting for ${what}; saw ${JSON.stringify(this.summary())}, ended=${this.ended}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  untilEvents(n: number, timeoutMs?: number): Promise<void> {
    return this.until(`${n} events`, (w) => w.events.length >= n, timeoutMs);
  }

  untilEnded(timeoutMs?: number): Promise<void> {
    return this.until('the end of the stream', (w) => w.ended, timeoutMs);
  }

  summary(): string[] {
    return this.events.map((e) =>
      e.type === 'ERROR' ? `ERROR ${e.object.code}` : e.type === 'BOOKMARK' ? `BOOKMARK ${e.object.metadata.resourceVersion}` : `${e.type} ${e.object.metadata.name}`,
    );
  }

  /** Stop reading (the socket's buffers fill and the server sees backpressure). */
  pause(): void {
    this.#res.pause();
  }

  resume(): void {
    this.#res.resume();
  }

  close(): void {
    this.#res.destroy();
  }
}

export interface WatchOpenOptions {
  headers?: Record<string, string>;
  /** For https: the CA to trust. */
  ca?: string | Buffer;
}

/** Opens a watch (any GET really) and resolves with its reader once the headers arrive. */
export function openWatch(url: string, path: string, options: WatchOpenOptions = {}): Promise<WatchReader> {
  const target = new URL(url + path);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: 'GET', headers: options.headers ?? {}, ...(options.ca === undefined ? {} : { ca: options.ca }) }, (res) => resolve(new WatchReader(res)));
    req.setTimeout(15_000, () => req.destroy(new Error(`no response headers for ${path} within 15 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
export async function bounded<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until the cache has caught up with `revision` (what a write returned). */
export async function synced(cacher: Cacher, revision: number): Promise<void> {
  await eventually(`the cache to reach revision ${revision}`, () => cacher.revision >= revision);
}

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/**
 * A request whose path goes on the wire exactly as given (fetch and URL would resolve `..` and
 * clean the path first), for the path-trick cases.
 */
export function rawRequest(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawReply> {
  const target = new URL(url);
  // Node's client sends a DELETE body unframed unless told its length.
  const framed = body === undefined ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: target.hostname, port: target.port, method, path, headers: framed }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer within 20 s`)));
    req.on('error', reject);
    req.end(body);
  });
}
