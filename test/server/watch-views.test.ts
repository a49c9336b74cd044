/**
 * Watches in the other forms kube-apiserver serves: Table events (`kubectl get -w`),
 * PartialObjectMetadata events (metadata informers) and Kubernetes protobuf streams
 * (`application/vnd.kubernetes.protobuf;stream=watch`, read with protobufjs, declared here apart
 * from the codec). Every case runs with dispatch inline (workers 0) and in a dispatcher thread
 * (workers 1: pods, the resource with a trigger, dispatch there), which must stream the same.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { kubeProto } from '../helpers/kube-proto.js';
import { call, openWatch, startTestServer, synced, type TestServer, type WatchReader } from './http-helpers.js';

const KUBECTL_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const TABLE_V1 = 'application/json;as=Table;v=v1;g=meta.k8s.io';
/** What client-go's metadata client sends for a watch (protobuf first: not served for conversions). */
const METADATA_WATCH_ACCEPT =
  'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const PROTOBUF_WATCH = 'application/vnd.kubernetes.protobuf;stream=watch';
const POD_COLUMNS = ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'];

const widget = defineResource({
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  additionalPrinterColumns: [{ name: 'Color', type: 'string', jsonPath: '.spec.color' }],
});

const root = kubeProto(`
message ObjectMeta { optional string name = 1; optional string namespace = 3; optional string resourceVersion = 6; map<string, string> labels = 11; map<string, string> annotations = 12; }
message PodSpec { optional string nodeName = 10; }
message Pod { optional ObjectMeta metadata = 1; optional PodSpec spec = 2; }
message ListMeta { optional string resourceVersion = 2; }
message Status { optional ListMeta metadata = 1; optional string status = 2; optional string message = 3; optional string reason = 4; optional int32 code = 6; }
`);

interface ProtobufEvent {
  type: string;
  apiVersion: string;
  kind: string;
  object: Record<string, any>;
}

/** A protobuf watch stream read as client-go reads it: length-delimited WatchEvents, each object an enveloped message. */
class ProtobufWatch {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly events: ProtobufEvent[] = [];
  #buffer = Buffer.alloc(0);
  readonly #res: IncomingMessage;

  constructor(res: IncomingMessage) {
    this.#res = res;
    this.status = res.statusCode ?? 0;
    this.contentType = res.headers['content-type'];
    res.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4) {
        const length = this.#buffer.readUInt32BE(0);
        if (this.#buffer.length < 4 + length) break;
        this.events.push(decodeEvent(this.#buffer.subarray(4, 4 + length)));
        this.#buffer = this.#buffer.subarray(4 + length);
      }
    });
  }

  close(): void {
    this.#res.destroy();
  }
}

function decodeEvent(bytes: Buffer): ProtobufEvent {
  const WatchEvent = root.lookupType('k8s.WatchEvent');
  const event = WatchEvent.toObject(WatchEvent.decode(bytes)) as { type: string; object: { raw: Uint8Array } };
  const raw = Buffer.from(event.object.raw);
  expect(raw.subarray(0, 4).toString('latin1')).toBe('k8s\0');
  const Unknown = root.lookupType('k8s.Unknown');
  const unknown = Unknown.toObject(Unknown.decode(raw.subarray(4))) as { typeMeta: { apiVersion: string; kind: string }; raw: Uint8Array };
  const type = root.lookupType(`k8s.${unknown.typeMeta.kind}`);
  return { type: event.type, ...unknown.typeMeta, object: type.toObject(type.decode(unknown.raw), { longs: Number, defaults: false }) };
}

function openProtobufWatch(url: string, path: string, accept = PROTOBUF_WATCH): Promise<ProtobufWatch> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(url + path), { headers: { accept } }, (res) => resolve(new ProtobufWatch(res)));
    req.setTimeout(15_000, () => req.destroy(new Error(`no response headers for ${path} within 15 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A Table event as `TYPE name`, with whether it carries columnDefinitions. */
function tableSummary(w: WatchReader): string[] {
  return w.events.map((e) => `${e.type} ${e.object.rows[0].cells[0]}${e.object.columnDefinitions === null ? '' : ' +columns'}`);
}

describe.each([0, 1])('watch views and protobuf watches (workers %i)', (workers) => {
  let t: TestServer;
  let last = 0;
  const write = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await call(t.url, path, { method, ...(body === undefined ? {} : { json: body }) });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    last = Math.max(last, Number(r.json.metadata?.resourceVersion ?? 0));
    return r.json;
  };
  const pod = (name: string, labels: Record<string, string> = {}): unknown => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx' }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 1, state: { running: {} } }] },
  });
  const PODS = '/api/v1/namespaces/v/pods';

  beforeAll(async () => {
    t = await startTestServer({ workers, resources: [...BUILTIN_RESOURCES, widget] });
    await write('POST', PODS, pod('a', { app: 'x' }));
    await write('POST', PODS, pod('b'));
    await write('POST', '/apis/example.com/v1/namespaces/v/widgets', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { color: 'red' } });
    await synced(t.cacher('pods'), last);
    await synced(t.cacher('widgets'), last);
  });
  afterAll(() => t.close());

  it('kubectl get -w gets Table events: one row each, the pod columns in the first event only', async () => {
    const w = await openWatch(t.url, `${PODS}?watch=1&resourceVersion=0`, { headers: { accept: KUBECTL_ACCEPT } });
    try {
      expect(w.status).toBe(200);
      expect(w.headers['content-type']).toBe('application/json');
      await w.untilEvents(2);
      const created = await write('POST', PODS, pod('c'));
      await write('DELETE', `${PODS}/c`);
      await w.untilEvents(4);
      expect(tableSummary(w)).toEqual(['ADDED a +columns', 'ADDED b', 'ADDED c', 'DELETED c']);
      const first = w.events[0]!.object;
      expect(first).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
      expect(first.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(POD_COLUMNS);
      expect(first.rows[0].cells).toEqual(['a', '1/1', 'Running', '1', expect.stringMatching(/^\d+s$/), '<none>', 'node-1', '<none>', '<none>']);
      // Each table carries its object's resourceVersion; rows carry PartialObjectMetadata by default.
      const added = w.events[2]!.object;
      expect(added.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      expect(added.rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: created.metadata });
    } finally {
      w.close();
    }
  });

  it('each watcher’s first event carries the columns, whichever event it is', async () => {
    const from = String(last);
    const one = await openWatch(t.url, `${PODS}?watch=1&resourceVersion=${from}`, { headers: { accept: TABLE_V1 } });
    try {
      await write('POST', PODS, pod('d'));
      await one.untilEvents(1);
      // The second watcher starts from the same RV: its first event is the same ADDED d.
      const two = await openWatch(t.url, `${PODS}?watch=1&resourceVersion=${from}`, { headers: { accept: TABLE_V1 } });
      try {
        await two.untilEvents(1);
        await write('DELETE', `${PODS}/d`);
        await one.untilEvents(2);
        await two.untilEvents(2);
        expect(tableSummary(one)).toEqual(['ADDED d +columns', 'DELETED d']);
        expect(tableSummary(two)).toEqual(['ADDED d +columns', 'DELETED d']);
        expect(two.events).toEqual(one.events);
      } finally {
        two.close();
      }
    } finally {
      one.close();
    }
  });

  it('includeObject=Object puts the object in the row, None nothing; a bad value is 400', async () => {
    const whole = await openWatch(t.url, `${PODS}?watch=1&resourceVersion=0&includeObject=Object&fieldSelector=metadata.name%3Da`, { headers: { accept: TABLE_V1 } });
    const none = await openWatch(t.url, `${PODS}?watch=1&resourceVersion=0&includeObject=None&fieldSelector=metadata.name%3Da`, { headers: { accept: TABLE_V1 } });
    try {
      await whole.untilEvents(1);
      await none.untilEvents(1);
      const plain = await call(t.url, `${PODS}/a`);
      expect(whole.events[0]!.object.rows[0].object).toEqual(plain.json);
      expect(none.events[0]!.object.rows[0].object).toBeNull();
    } finally {
      whole.close();
      none.close();
    }
    const bad = await call(t.url, `${PODS}?watch=1&includeObject=All`, { headers: { accept: TABLE_V1 } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', code: 400, message: 'unrecognized includeObject value: "All"' });
  });

  it('metadata informers get PartialObjectMetadata events, their initial-events-end BOOKMARK too', async () => {
    const path = `${PODS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=app%3Dx`;
    const w = await openWatch(t.url, path, { headers: { accept: METADATA_WATCH_ACCEPT } });
    try {
      expect(w.headers['content-type']).toBe('application/json');
      await w.untilEvents(2);
      const patched = await call(t.url, `${PODS}/a`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { annotations: { step: 'two' } } }),
      });
      expect(patched.status).toBe(200);
      await w.untilEvents(3);
      const plain = await call(t.url, `${PODS}/a`);
      const [initial, bookmark, modified] = w.events;
      expect(initial!.type).toBe('ADDED');
      expect(initial!.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'a' } });
      expect(initial!.object.spec).toBeUndefined();
      expect(bookmark!.type).toBe('BOOKMARK');
      expect(bookmark!.object).toEqual({
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: expect.any(String), annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
      expect(modified).toEqual({ type: 'MODIFIED', object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: plain.json.metadata } });
    } finally {
      w.close();
    }
  });

  it('a Table watch converts its BOOKMARKs as kube does: a one-row Table at the bookmark’s resourceVersion', async () => {
    const path = `${PODS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=app%3Dnone`;
    const w = await openWatch(t.url, path, { headers: { accept: TABLE_V1 } });
    try {
      await w.untilEvents(1);
      const bookmark = w.events[0]!;
      expect(bookmark.type).toBe('BOOKMARK');
      // With no initial events, the bookmark is the watch's first event: it carries the columns.
      expect(bookmark.object.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(POD_COLUMNS);
      expect(bookmark.object.rows).toHaveLength(1);
      expect(bookmark.object.rows[0].object.metadata).toEqual({
        resourceVersion: bookmark.object.metadata.resourceVersion,
        annotations: { 'k8s.io/initial-events-end': 'true' },
      });
    } finally {
      w.close();
    }
  });

  it('custom resources: Table events print their printer columns; protobuf alone is 406, with a JSON fallback JSON', async () => {
    const WIDGETS = '/apis/example.com/v1/namespaces/v/widgets';
    const w = await openWatch(t.url, `${WIDGETS}?watch=1&resourceVersion=0`, { headers: { accept: KUBECTL_ACCEPT } });
    try {
      await w.untilEvents(1);
      expect(w.events[0]!.object.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Color']);
      expect(w.events[0]!.object.rows[0].cells).toEqual(['w1', 'red']);
    } finally {
      w.close();
    }
    const refused = await call(t.url, `${WIDGETS}?watch=1`, { headers: { accept: PROTOBUF_WATCH } });
    expect(refused.status).toBe(406);
    expect(refused.json).toMatchObject({ kind: 'Status', code: 406, reason: 'NotAcceptable' });
    expect(refused.json.message).not.toContain('protobuf');
    const fallback = await openWatch(t.url, `${WIDGETS}?watch=1&resourceVersion=0`, { headers: { accept: `${PROTOBUF_WATCH},application/json` } });
    try {
      expect(fallback.headers['content-type']).toBe('application/json');
      await fallback.untilEvents(1);
      expect(fallback.summary()).toEqual(['ADDED w1']);
    } finally {
      fallback.close();
    }
  });

  it('a protobuf watch streams length-delimited WatchEvents with the objects’ protobuf inside', async () => {
    const w = await openProtobufWatch(t.url, `${PODS}?watch=1&resourceVersion=0&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
    try {
      expect(w.status).toBe(200);
      expect(w.contentType).toBe(PROTOBUF_WATCH);
      await until('the initial events and their bookmark', () => w.events.some((e) => e.type === 'BOOKMARK'));
      const created = await write('POST', PODS, pod('p', { app: 'pb' }));
      await write('DELETE', `${PODS}/p`);
      await until('ADDED and DELETED p', () => w.events.filter((e) => e.object.metadata?.name === 'p').length === 2);
      const initial = w.events.slice(0, w.events.findIndex((e) => e.type === 'BOOKMARK'));
      expect(initial.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b']);
      const bookmark = w.events.find((e) => e.type === 'BOOKMARK')!;
      expect(bookmark).toMatchObject({ apiVersion: 'v1', kind: 'Pod', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
      const live = w.events.filter((e) => e.object.metadata?.name === 'p');
      expect(live.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
      expect(live[0]).toEqual({
        type: 'ADDED',
        apiVersion: 'v1',
        kind: 'Pod',
        object: {
          metadata: { name: 'p', namespace: 'v', resourceVersion: created.metadata.resourceVersion, labels: { app: 'pb' } },
          spec: { nodeName: 'node-1' },
        },
      });
    } finally {
      w.close();
    }
  });

  it('a protobuf watch that cannot start answers with a protobuf Status; Accept without stream=watch is served too', async () => {
    const bad = await fetch(`${t.url}${PODS}?watch=1&labelSelector=%3D%3D`, { headers: { accept: PROTOBUF_WATCH }, signal: AbortSignal.timeout(15_000) });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/vnd.kubernetes.protobuf');
    const body = Buffer.from(await bad.arrayBuffer());
    expect(body.subarray(0, 4).toString('latin1')).toBe('k8s\0');
    const Unknown = root.lookupType('k8s.Unknown');
    const unknown = Unknown.toObject(Unknown.decode(body.subarray(4))) as { typeMeta: { kind: string }; raw: Uint8Array };
    expect(unknown.typeMeta.kind).toBe('Status');
    const Status = root.lookupType('k8s.Status');
    expect(Status.toObject(Status.decode(unknown.raw))).toMatchObject({ status: 'Failure', reason: 'BadRequest', code: 400 });
    // With JSON preferred, the same error is JSON.
    const json = await call(t.url, `${PODS}?watch=1&labelSelector=%3D%3D`, { headers: { accept: `application/json,${PROTOBUF_WATCH}` } });
    expect(json.json).toMatchObject({ kind: 'Status', code: 400 });
    const w = await openProtobufWatch(t.url, `${PODS}?watch=1&resourceVersion=0&fieldSelector=metadata.name%3Da`, 'application/vnd.kubernetes.protobuf');
    try {
      expect(w.contentType).toBe(PROTOBUF_WATCH);
      await until('ADDED a', () => w.events.length === 1);
      expect(w.events[0]).toMatchObject({ type: 'ADDED', kind: 'Pod', object: { metadata: { name: 'a' } } });
    } finally {
      w.close();
    }
  });
});
