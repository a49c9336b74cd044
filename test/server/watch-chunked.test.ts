/**
 * WATCH over HTTP/1.1 as bytes on the wire: the dispatcher's pre-framed chunks and the frames the
 * watch writes itself (initial events, bookmarks, the final ERROR) interleave as well-formed
 * chunks, in order, ending with the last chunk; a client that stops reading blocks its watcher,
 * which stalls on its own cursor until the socket drains; HTTP/1.0 clients get plain frames.
 * The client is a raw TCP socket that checks the chunked encoding byte for byte.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createPod, eventually, podBody, startTestServer, synced, type TestServer } from './http-helpers.js';

interface WireEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> } };
}

/** A watch read off a raw socket, its transfer coding checked strictly as bytes arrive. */
class RawWatch {
  readonly socket: Socket;
  status = 0;
  headers = new Map<string, string>();
  readonly events: WireEvent[] = [];
  /** Chunks read (the last chunk excluded). */
  chunks = 0;
  /** The last chunk `0\r\n\r\n` was read (chunked), or the connection ended (HTTP/1.0). */
  ended = false;
  /** What was malformed, if anything. */
  malformed: string | undefined;
  readonly #version: string;
  #buffer = Buffer.alloc(0);
  #headDone = false;
  #line = '';

  constructor(url: string, path: string, version: '1.1' | '1.0' = '1.1') {
    const { hostname, port } = new URL(url);
    this.#version = version;
    this.socket = connect(Number(port), hostname);
    this.socket.write(`GET ${path} HTTP/${version}\r\nHost: ${hostname}\r\nAccept: application/json\r\n\r\n`);
    this.socket.on('data', (data: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, data]);
      this.#parse();
    });
    this.socket.on('end', () => {
      if (this.#version === '1.0') {
        this.#payload(Buffer.alloc(0), true);
        this.ended = true;
      }
    });
    this.socket.on('error', () => undefined);
  }

  get chunked(): boolean {
    return this.headers.get('transfer-encoding') === 'chunked';
  }

  summary(): string[] {
    return this.events.map((e) => `${e.type} ${e.object.metadata.name ?? e.object.reason ?? ''}`.trim());
  }

  until(what: string, condition: (w: RawWatch) => boolean, timeoutMs = 30_000): Promise<void> {
    return eventually(what, () => {
      if (this.malformed !== undefined) throw new Error(`malformed stream: ${this.malformed}`);
      return condition(this);
    }, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  #parse(): void {
    if (!this.#headDone) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
      this.status = Number(statusLine!.split(' ')[1]);
      for (const line of lines) {
        const colon = line.indexOf(':');
        this.headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#headDone = true;
    }
    if (!this.chunked) {
      this.#payload(this.#buffer, false);
      this.#buffer = Buffer.alloc(0);
      return;
    }
    for (;;) {
      if (this.ended) {
        if (this.#buffer.byteLength > 0) this.malformed = `bytes after the last chunk: ${JSON.stringify(this.#buffer.toString())}`;
        return;
      }
      const eol = this.#buffer.indexOf('\r\n');
      if (eol < 0) return;
      const size = this.#buffer.subarray(0, eol).toString('latin1');
      if (!/^[0-9a-f]+$/i.test(size)) {
        this.malformed = `bad chunk size line ${JSON.stringify(size)}`;
        return;
      }
      const length = parseInt(size, 16);
      if (this.#buffer.byteLength < eol + 2 + length + 2) return;
      if (this.#buffer.subarray(eol + 2 + length, eol + 4 + length).toString('latin1') !== '\r\n') {
        this.malformed = `chunk of ${length} bytes not followed by CRLF`;
        return;
      }
      if (length === 0) this.ended = true;
      else {
        this.chunks++;
        this.#payload(this.#buffer.subarray(eol + 2, eol + 2 + length), false);
      }
      this.#buffer = this.#buffer.subarray(eol + 4 + length);
    }
  }

  /** Frames are JSON lines; a blank line is a heartbeat. */
  #payload(bytes: Buffer, last: boolean): void {
    const lines = (this.#line + bytes.toString()).split('\n');
    this.#line = last ? '' : lines.pop()!;
    for (const line of lines) {
      if (line === '') continue;
      try {
        this.events.push(JSON.parse(line) as WireEvent);
      } catch {
        this.malformed = `a frame that is not JSON: ${line.slice(0, 80)}`;
      }
    }
  }
}

const big = (name: string, namespace: string): unknown => {
  // In a field the pod schema keeps (unknown fields are pruned).
  const body = podBody(name, { namespace }) as { spec: Record<string, unknown> };
  body.spec.containers = [{ name: 'app', image: 'busybox', env: [{ name: 'PADDING', value: 'x'.repeat(256 * 1024) }] }];
  return body;
};

/**
 * Big objects, enough of them that the kernel's socket buffers (several MB on loopback) fill and
 * the server's socket stops taking bytes.
 */
const PODS = 60;
/** The most big pods a test writes while it waits for a watcher to stall (50 MB). */
const MAX_PODS = 200;

const rvOf = (e: WireEvent): number => Number(e.object.metadata.resourceVersion);

describe.each([
  { placement: 'inline', workers: 0 },
  { placement: 'workers', workers: 2 },
])('WATCH over HTTP/1.1 chunks, dispatch $placement', ({ workers }) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers, cacher: { bufferEvents: 2 } });
  });
  afterAll(() => t.close());

  it('many frames: initial events, their bookmark, then live events in many turns, all in well-formed chunks and in order', async () => {
    const ns = 'ns-many';
    let last = 0;
    for (let i = 0; i < 120; i++) last = await createPod(t.url, `init-${String(i).padStart(3, '0')}`, {}, ns);
    await synced(t.cacher('pods'), last);
    const w = new RawWatch(t.url, `/api/v1/namespaces/${ns}/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
    // A second watcher with the same frames: it shares the chunks (the dispatcher tests pin that); here both read them whole.
    const twin = new RawWatch(t.url, `/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=${last}`);
    await w.until('the initial events and their bookmark', (x) => x.events.length >= 121);
    expect(w.status).toBe(200);
    expect(w.chunked).toBe(true);
    expect(w.events.slice(0, 120).every((e) => e.type === 'ADDED')).toBe(true);
    expect(w.events[120]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    const created: number[] = [];
    for (let round = 0; round < 10; round++) {
      const rvs = await Promise.all(Array.from({ length: 20 }, (_, i) => createPod(t.url, `live-${round}-${i}`, {}, ns)));
      created.push(...rvs);
    }
    created.sort((a, b) => a - b);
    await w.until('every live event', (x) => x.events.filter((e) => e.type === 'ADDED').length >= 320);
    await twin.until('every live event', (x) => x.events.length >= 200);
    const live = w.events.slice(121).filter((e) => e.type !== 'BOOKMARK');
    expect(live.map(rvOf)).toEqual(created);
    expect(twin.events.map(rvOf)).toEqual(created);
    expect(w.chunks).toBeGreaterThan(1);
    expect(w.malformed).toBeUndefined();
    expect(twin.malformed).toBeUndefined();
    w.close();
    twin.close();
  });

  it('a client that stops reading: its watcher is blocked and stalls on its own cursor; when the socket drains it gets every event in order', async () => {
    const ns = 'ns-blocked';
    const start = (await call(t.url, '/api/v1/pods')).json.metadata.resourceVersion as string;
    const slow = new RawWatch(t.url, `/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=${start}`);
    const fast = new RawWatch(t.url, `/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=${start}`);
    await slow.until('the 200', (x) => x.status === 200);
    await fast.until('the 200', (x) => x.status === 200);
    slow.socket.pause();
    const revisions: number[] = [];
    const stalled = (): boolean => t.cacher('pods').stats().dispatchers.some((d) => d.stalled > 0);
    // At least PODS, and on until the kernel's buffers are full and the watcher stalls (a machine
    // with larger socket buffers needs more bytes), at most MAX_PODS.
    for (let i = 0; i < MAX_PODS && (i < PODS || !stalled()); i++) {
      const r = await call(t.url, `/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: big(`big-${String(i).padStart(3, '0')}`, ns) });
      revisions.push(Number(r.json.metadata.resourceVersion));
    }
    await fast.until('every event', (x) => x.events.length >= revisions.length);
    // The socket stopped taking bytes: the dispatcher was told, and the watcher stalls there.
    await eventually('the slow watcher to stall', () => t.cacher('pods').stats().dispatchers.some((d) => d.stalled > 0), 30_000);
    slow.socket.resume();
    await slow.until('every event', (x) => x.events.length >= revisions.length);
    expect(slow.events.map(rvOf)).toEqual(revisions);
    expect(fast.events.map(rvOf)).toEqual(revisions);
    await eventually('no watcher stalled', () => t.cacher('pods').stats().dispatchers.every((d) => d.stalled === 0), 30_000);
    expect(t.cacher('pods').stats().terminated['stalled'] ?? 0).toBe(0);
    expect(slow.malformed).toBeUndefined();
    slow.close();
    fast.close();
  }, 120_000);
});

describe('WATCH over HTTP: the ends of a chunked stream, and HTTP/1.0', () => {
  it('initial events, live events, then an in-band ERROR (410, stalled) and the last chunk, in order', async () => {
    const t = await startTestServer({ workers: 0, cacher: { bufferEvents: 2, stallBudgetMs: 200 } });
    try {
      const ns = 'ns-end';
      await createPod(t.url, 'first', {}, ns);
      const second = await createPod(t.url, 'second', {}, ns);
      await synced(t.cacher('pods'), second);
      const w = new RawWatch(t.url, `/api/v1/namespaces/${ns}/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
      await w.until('the initial events and their bookmark', (x) => x.events.length >= 3);
      w.socket.pause();
      const revisions: number[] = [];
      for (let i = 0; i < MAX_PODS && (t.cacher('pods').stats().terminated['stalled'] ?? 0) === 0; i++) {
        const r = await call(t.url, `/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: big(`big-${String(i).padStart(3, '0')}`, ns) });
        revisions.push(Number(r.json.metadata.resourceVersion));
      }
      await eventually('the watcher closed by the stall budget', () => (t.cacher('pods').stats().terminated['stalled'] ?? 0) > 0, 30_000);
      w.socket.resume();
      await w.until('the last chunk', (x) => x.ended);
      expect(w.malformed).toBeUndefined();
      const types = w.events.map((e) => e.type);
      expect(types.slice(0, 3)).toEqual(['ADDED', 'ADDED', 'BOOKMARK']);
      expect(types.at(-1)).toBe('ERROR');
      expect(w.events.at(-1)!.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
      const live = w.events.slice(3, -1);
      expect(live.length).toBeGreaterThan(0);
      expect(live.every((e) => e.type === 'ADDED')).toBe(true);
      // A prefix of what was written, in order: it ended where it stalled.
      expect(live.map(rvOf)).toEqual(revisions.slice(0, live.length));
      w.close();
    } finally {
      await t.close();
    }
  }, 120_000);

  it('an HTTP/1.0 client gets the frames as they are, without chunk framing, and the stream ends with the connection', async () => {
    const t = await startTestServer({ workers: 0 });
    try {
      const existing = await createPod(t.url, 'old', {}, 'ns-10');
      await synced(t.cacher('pods'), existing);
      const w = new RawWatch(t.url, `/api/v1/namespaces/ns-10/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=2`, '1.0');
      await w.until('the initial event', (x) => x.events.length >= 2);
      await createPod(t.url, 'new', {}, 'ns-10');
      await w.until('the end of the stream', (x) => x.ended);
      expect(w.status).toBe(200);
      expect(w.headers.has('transfer-encoding')).toBe(false);
      expect(w.malformed).toBeUndefined();
      expect(w.summary().filter((s) => !s.startsWith('BOOKMARK'))).toEqual(['ADDED old', 'ADDED new']);
    } finally {
      await t.close();
    }
  });
});
