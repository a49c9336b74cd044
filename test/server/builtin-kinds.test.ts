/**
 * Every built-in kind the server serves (core/v1, apps/v1, batch/v1), over HTTP, through each
 * surface of issue 11: a realistic object created and updated with protobuf bodies; GET and LIST
 * answered in protobuf; a protobuf watch stream (read by a protobufjs decoder declared here, apart
 * from the server's codec) carrying its ADDED and MODIFIED; the kind's kube printer columns in a
 * Table; PartialObjectMetadata for GET and LIST; and its legacy /watch/ path for one object.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeObject, encodeObject } from '../../src/encode/protobuf/envelope.js';
import { BUILTIN_RESOURCES, type ResourceDefinition } from '../../src/server/registry.js';
import * as fixtures from '../encode/protobuf/fixtures/objects.js';
import { kubeProto } from '../helpers/kube-proto.js';
import { call, openWatch, startTestServer, type TestServer } from './http-helpers.js';

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const TABLE_V1 = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const NS = 'pk';

/** kube-apiserver's printer columns (pkg/printers/internalversion), -o wide ones included. */
const COLUMNS: Record<string, string[]> = {
  Pod: ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'],
  Node: ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime'],
  Namespace: ['Name', 'Status', 'Age'],
  ConfigMap: ['Name', 'Data', 'Age'],
  Secret: ['Name', 'Type', 'Data', 'Age'],
  Service: ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector'],
  Endpoints: ['Name', 'Endpoints', 'Age'],
  Event: ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name'],
  ServiceAccount: ['Name', 'Secrets', 'Age'],
  PersistentVolume: ['Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age', 'VolumeMode'],
  PersistentVolumeClaim: ['Name', 'Status', 'Volume', 'Capacity', 'Access Modes', 'StorageClass', 'VolumeAttributesClass', 'Age', 'VolumeMode'],
  Deployment: ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector'],
  ReplicaSet: ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector'],
  StatefulSet: ['Name', 'Ready', 'Age', 'Containers', 'Images'],
  DaemonSet: ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age', 'Containers', 'Images', 'Selector'],
  Job: ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector'],
  CronJob: ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age', 'Containers', 'Images', 'Selector'],
};

type Json = Record<string, any>;

/** The realistic fixture of `kind` (the round-trip fixtures), as a client would send it: no server-set metadata. */
function fixtureFor(def: ResourceDefinition): Json {
  const apiVersion = def.group === '' ? def.version : `${def.group}/${def.version}`;
  const found = fixtures.ALL_KINDS.find((o) => o.kind === def.kind && o.apiVersion === apiVersion);
  if (found === undefined) throw new Error(`no fixture of ${apiVersion} ${def.kind}`);
  const { metadata, ...rest } = structuredClone(found) as Json;
  const name = `pk-${def.kind.toLowerCase()}`;
  return { ...rest, metadata: { name, ...(def.namespaced ? { namespace: NS } : {}), labels: metadata.labels ?? { app: 'pk' }, annotations: metadata.annotations ?? {} } };
}

function collection(def: ResourceDefinition): string {
  const base = def.group === '' ? `/api/${def.version}` : `/apis/${def.group}/${def.version}`;
  return def.namespaced ? `${base}/namespaces/${NS}/${def.plural}` : `${base}/${def.plural}`;
}

function legacyWatchPath(def: ResourceDefinition, name: string): string {
  const base = def.group === '' ? `/api/${def.version}` : `/apis/${def.group}/${def.version}`;
  return def.namespaced ? `${base}/watch/namespaces/${NS}/${def.plural}/${name}` : `${base}/watch/${def.plural}/${name}`;
}

async function raw(url: string, path: string, init: { method?: string; accept?: string; contentType?: string; body?: Uint8Array } = {}): Promise<{ status: number; contentType: string | null; body: Buffer }> {
  const headers: Record<string, string> = {};
  if (init.accept !== undefined) headers.accept = init.accept;
  if (init.contentType !== undefined) headers['content-type'] = init.contentType;
  const response = await fetch(url + path, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: init.body }), signal: AbortSignal.timeout(15_000) });
  return { status: response.status, contentType: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
}

// The independent reader (test/helpers/kube-proto.ts): every kind's field 1 is its ObjectMeta.
const root = kubeProto(`
message ObjectMeta { optional string name = 1; optional string namespace = 3; optional string resourceVersion = 6; map<string, string> labels = 11; }
message AnyKind { optional ObjectMeta metadata = 1; }
`);
const WatchEventType = root.lookupType('k8s.WatchEvent');
const UnknownType = root.lookupType('k8s.Unknown');
const AnyKindType = root.lookupType('k8s.AnyKind');

interface Frame {
  type: string;
  apiVersion: string;
  kind: string;
  metadata: { name?: string; resourceVersion?: string; labels?: Record<string, string> };
  /** The enveloped object as sent. */
  envelope: Buffer;
}

class ProtobufWatch {
  readonly frames: Frame[] = [];
  contentType: string | undefined;
  #buffer = Buffer.alloc(0);
  #res: IncomingMessage | undefined;

  static open(url: string, path: string): Promise<ProtobufWatch> {
    const w = new ProtobufWatch();
    return new Promise((resolve, reject) => {
      const req = httpRequest(new URL(url + path), { headers: { accept: `${PROTOBUF};stream=watch` } }, (res) => {
        w.#res = res;
        w.contentType = res.headers['content-type'];
        res.on('data', (chunk: Buffer) => w.#read(chunk));
        resolve(w);
      });
      req.setTimeout(15_000, () => req.destroy(new Error(`no response headers for ${path} within 15 s`)));
      req.on('error', reject);
      req.end();
    });
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUInt32BE(0);
      if (this.#buffer.length < 4 + length) break;
      const event = WatchEventType.toObject(WatchEventType.decode(this.#buffer.subarray(4, 4 + length))) as { type: string; object: { raw: Uint8Array } };
      const envelope = Buffer.from(event.object.raw);
      const unknown = UnknownType.toObject(UnknownType.decode(envelope.subarray(4))) as { typeMeta: { apiVersion: string; kind: string }; raw: Uint8Array };
      const object = AnyKindType.toObject(AnyKindType.decode(unknown.raw), { defaults: false }) as { metadata: Frame['metadata'] };
      this.frames.push({ type: event.type, ...unknown.typeMeta, metadata: object.metadata, envelope });
      this.#buffer = this.#buffer.subarray(4 + length);
    }
  }

  async until(what: string, check: () => boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => [f.type, f.metadata?.name]))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.#res?.destroy();
  }
}

describe.each([0, 1])('every served built-in kind, over HTTP (workers %i)', (workers) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers, resources: BUILTIN_RESOURCES });
  });
  afterAll(() => t.close());

  it('serves core/v1, apps/v1 and batch/v1 kinds, each with a fixture and kube columns here', () => {
    expect(BUILTIN_RESOURCES.map((d) => d.kind).sort()).toEqual(Object.keys(COLUMNS).sort());
  });

  for (const def of BUILTIN_RESOURCES) {
    const apiVersion = def.group === '' ? def.version : `${def.group}/${def.version}`;
    it(`${apiVersion} ${def.kind}: protobuf create and update, GET and LIST; a protobuf watch of both; its Table; PartialObjectMetadata; its legacy watch path`, async () => {
      const path = collection(def);
      const object = fixtureFor(def);
      const name = object.metadata.name as string;
      const before = await call(t.url, path);
      expect(before.status, before.text).toBe(200);
      const watch = await ProtobufWatch.open(t.url, `${path}?watch=1&resourceVersion=${before.json.metadata.resourceVersion}`);
      try {
        expect(watch.contentType).toBe(`${PROTOBUF};stream=watch`);

        // Create: a protobuf body, a protobuf answer.
        const created = await raw(t.url, path, { method: 'POST', contentType: PROTOBUF, accept: PROTOBUF, body: encodeObject(object) });
        expect(created.status, created.body.toString()).toBe(201);
        expect(created.contentType).toBe(PROTOBUF);
        const createdObject = decodeObject(created.body) as Json;
        expect(createdObject).toMatchObject({ apiVersion, kind: def.kind, metadata: { name, labels: object.metadata.labels } });

        // GET in protobuf is the object JSON shows.
        const json = await call(t.url, `${path}/${name}`);
        expect(json.status).toBe(200);
        const got = await raw(t.url, `${path}/${name}`, { accept: PROTOBUF });
        expect(got.status).toBe(200);
        expect(got.contentType).toBe(PROTOBUF);
        expect(decodeObject(got.body)).toEqual(json.json);
        expect(createdObject).toEqual(json.json);

        // Update: a protobuf PUT with the resourceVersion as precondition.
        const changed = { ...json.json, metadata: { ...json.json.metadata, labels: { ...json.json.metadata.labels, updated: 'yes' } } };
        const updated = await raw(t.url, `${path}/${name}`, { method: 'PUT', contentType: PROTOBUF, accept: 'application/json', body: encodeObject(changed) });
        expect(updated.status, updated.body.toString()).toBe(200);
        const updatedObject = JSON.parse(updated.body.toString()) as Json;
        expect(updatedObject.metadata.labels.updated).toBe('yes');

        // LIST in protobuf: the kind's List, items as JSON lists them.
        const listJson = await call(t.url, path);
        const list = await raw(t.url, path, { accept: PROTOBUF });
        expect(list.status).toBe(200);
        const decodedList = decodeObject(list.body) as Json;
        expect(decodedList).toMatchObject({ apiVersion, kind: `${def.kind}List`, metadata: { resourceVersion: listJson.json.metadata.resourceVersion } });
        const { apiVersion: _a, kind: _k, ...untyped } = updatedObject;
        expect(decodedList.items.find((i: Json) => i.metadata.name === name)).toEqual(untyped);

        // The watch: ADDED then MODIFIED, each a kube WatchEvent around the enveloped object.
        const mine = (): Frame[] => watch.frames.filter((f) => f.metadata?.name === name);
        await watch.until(`ADDED and MODIFIED ${name}`, () => mine().length >= 2);
        expect(mine().map((f) => [f.type, f.apiVersion, f.kind, f.metadata.resourceVersion])).toEqual([
          ['ADDED', apiVersion, def.kind, createdObject.metadata.resourceVersion],
          ['MODIFIED', apiVersion, def.kind, updatedObject.metadata.resourceVersion],
        ]);
        expect(mine()[1]!.metadata.labels?.['updated']).toBe('yes');
        expect(decodeObject(mine()[1]!.envelope)).toEqual(updatedObject);
      } finally {
        watch.close();
      }

      // Its Table: kube's columns, one row for the object.
      const table = await call(t.url, `${path}/${name}`, { headers: { accept: TABLE_V1 } });
      expect(table.status, table.text).toBe(200);
      expect(table.json).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
      expect(table.json.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(COLUMNS[def.kind]);
      expect(table.json.rows).toHaveLength(1);
      expect(table.json.rows[0].cells).toHaveLength(COLUMNS[def.kind]!.length);
      expect(table.json.rows[0].cells[COLUMNS[def.kind]!.indexOf('Name')]).toBe(name);

      // PartialObjectMetadata for GET and LIST.
      const plain = await call(t.url, `${path}/${name}`);
      const meta = await call(t.url, `${path}/${name}`, { headers: { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' } });
      expect(meta.json).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: plain.json.metadata });
      const metaList = await call(t.url, path, { headers: { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' } });
      expect(metaList.json.kind).toBe('PartialObjectMetadataList');
      expect(metaList.json.items.find((i: Json) => i.metadata.name === name)).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: plain.json.metadata });

      // The legacy watch path of this one object.
      const legacy = await openWatch(t.url, `${legacyWatchPath(def, name)}?resourceVersion=0`);
      try {
        await legacy.untilEvents(1);
        expect(legacy.events[0]).toMatchObject({ type: 'ADDED', object: { kind: def.kind, metadata: { name, resourceVersion: plain.json.metadata.resourceVersion } } });
      } finally {
        legacy.close();
      }
    });
  }
});
