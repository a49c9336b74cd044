/**
 * Kubernetes protobuf at the HTTP front: request bodies (create, update) of built-in kinds, GET
 * and LIST responses, write answers and error Statuses, negotiated as kube-apiserver does. Bodies
 * are the ones kubectl 1.33 sends (recorded) or the codec's; responses are read with protobufjs
 * (declared from k8s.io/api's generated.proto, apart from the codec) and with the codec.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeObject, encodeObject } from '../../src/encode/protobuf/envelope.js';
import { TokenTable } from '../../src/server/auth.js';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, eventually, startTestServer, type TestServer } from './http-helpers.js';

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
/** What kubectl ≥ 1.32 and client-go's typed clients send. */
const PROTOBUF_OR_JSON = `${PROTOBUF},application/json`;

const recorded = (name: string): Buffer => readFileSync(new URL(`../encode/protobuf/fixtures/kubectl-1.33-${name}.bin`, import.meta.url));

const { root } = protobuf.parse(`
syntax = "proto2";
package k8s;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message ObjectMeta { optional string name = 1; optional string namespace = 3; optional string uid = 5; optional string resourceVersion = 6; optional Time creationTimestamp = 8; map<string, string> labels = 11; }
message ConfigMap { optional ObjectMeta metadata = 1; map<string, string> data = 2; }
message Secret { optional ObjectMeta metadata = 1; map<string, bytes> data = 2; optional string type = 3; }
message ListMeta { optional string resourceVersion = 2; optional string continue = 3; optional int64 remainingItemCount = 4; }
message ConfigMapList { optional ListMeta metadata = 1; repeated ConfigMap items = 2; }
message StatusDetails { optional string name = 1; optional string group = 2; optional string kind = 3; }
message Preconditions { optional string uid = 1; optional string resourceVersion = 2; }
message DeleteOptions { optional int64 gracePeriodSeconds = 1; optional Preconditions preconditions = 2; optional string propagationPolicy = 4; repeated string dryRun = 5; }
message Status { optional ListMeta metadata = 1; optional string status = 2; optional string message = 3; optional string reason = 4; optional StatusDetails details = 5; optional int32 code = 6; }
`);

interface Unwrapped {
  apiVersion: string;
  kind: string;
  object: Record<string, any>;
}

/** A protobuf response read as a kube client reads it: magic, Unknown, then the kind's message. */
function readProtobuf(body: Buffer): Unwrapped {
  expect(body.subarray(0, 4).toString('latin1')).toBe('k8s\0');
  const Unknown = root.lookupType('k8s.Unknown');
  const unknown = Unknown.toObject(Unknown.decode(body.subarray(4))) as { typeMeta: { apiVersion: string; kind: string }; raw: Uint8Array };
  const type = root.lookupType(`k8s.${unknown.typeMeta.kind}`);
  return { ...unknown.typeMeta, object: type.toObject(type.decode(unknown.raw), { longs: Number, defaults: false }) };
}

/** A protobuf body built by protobufjs (as client-go would send it), envelope included. */
function writeProtobuf(apiVersion: string, kind: string, object: Record<string, unknown>): Buffer {
  const type = root.lookupType(`k8s.${kind}`);
  const Unknown = root.lookupType('k8s.Unknown');
  const raw = type.encode(type.fromObject(object)).finish();
  const unknown = Unknown.encode(Unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' })).finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

interface RawReply {
  status: number;
  contentType: string | null;
  body: Buffer;
  /** The body as JSON, when it is JSON. */
  json: any;
}

async function raw(url: string, path: string, init: { method?: string; accept?: string; contentType?: string; body?: Uint8Array | string } = {}): Promise<RawReply> {
  const headers: Record<string, string> = {};
  if (init.accept !== undefined) headers.accept = init.accept;
  if (init.contentType !== undefined) headers['content-type'] = init.contentType;
  const response = await fetch(url + path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = Buffer.from(await response.arrayBuffer());
  const contentType = response.headers.get('content-type');
  return { status: response.status, contentType, body, json: contentType === 'application/json' ? JSON.parse(body.toString('utf8')) : undefined };
}

const widget = defineResource({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true });

describe('protobuf at the HTTP front', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ resources: [...BUILTIN_RESOURCES, widget] });
  });
  afterAll(() => t.close());

  describe('request bodies', () => {
    it.each([
      ['create-configmap', '/api/v1/namespaces/pb/configmaps', 'configmaps/demo', { data: { a: 'b' } }],
      ['create-namespace', '/api/v1/namespaces', 'namespaces/demo-ns', {}],
      ['create-secret-generic', '/api/v1/namespaces/pb/secrets', 'secrets/demo-secret', { data: { user: Buffer.from('admin').toString('base64') } }],
      ['create-service-clusterip', '/api/v1/namespaces/pb/services', 'services/demo-svc', { spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }] } }],
    ])('kubectl 1.33’s protobuf body of %s creates the object, stored as JSON', async (fixture, path, stored, content) => {
      const created = await raw(t.url, path, { method: 'POST', contentType: PROTOBUF, accept: 'application/json', body: recorded(fixture) });
      expect(created.status, created.body.toString()).toBe(201);
      expect(created.contentType).toBe('application/json');
      expect(created.json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      const [resource, name] = stored.split('/');
      const prefix = resource === 'namespaces' ? '/api/v1/namespaces' : `/api/v1/namespaces/pb/${resource}`;
      const read = await call(t.url, `${prefix}/${name}`);
      expect(read.status).toBe(200);
      expect(read.json).toMatchObject({ metadata: { name, resourceVersion: created.json.metadata.resourceVersion }, ...content });
    });

    it('a protobuf PUT updates like a JSON one (precondition included), and answers in protobuf when asked', async () => {
      const created = await raw(t.url, '/api/v1/namespaces/pu/configmaps', {
        method: 'POST',
        contentType: PROTOBUF,
        accept: 'application/json',
        body: encodeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'up' }, data: { v: '1' } }),
      });
      expect(created.status).toBe(201);
      const rv = created.json.metadata.resourceVersion as string;
      const next = encodeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'up', namespace: 'pu', resourceVersion: rv }, data: { v: '2' } });
      const updated = await raw(t.url, '/api/v1/namespaces/pu/configmaps/up', { method: 'PUT', contentType: PROTOBUF, accept: PROTOBUF_OR_JSON, body: next });
      expect(updated.status).toBe(200);
      expect(updated.contentType).toBe(PROTOBUF);
      const read = readProtobuf(updated.body);
      expect(read).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', object: { metadata: { name: 'up', namespace: 'pu' }, data: { v: '2' } } });
      expect(Number(read.object.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
      // The same body again carries a stale resourceVersion now: 409, as for JSON.
      const stale = await raw(t.url, '/api/v1/namespaces/pu/configmaps/up', { method: 'PUT', contentType: PROTOBUF, accept: 'application/json', body: next });
      expect(stale.status).toBe(409);
      expect(stale.json).toMatchObject({ kind: 'Status', reason: 'Conflict' });
    });

    it('a protobuf body goes through the same checks as JSON: wrong kind for the path is 400, a bad label 422', async () => {
      const wrongKind = await raw(t.url, '/api/v1/namespaces/pb/secrets', { method: 'POST', contentType: PROTOBUF, body: recorded('create-configmap') });
      expect(wrongKind.status).toBe(400);
      expect(wrongKind.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
      const badLabel = encodeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad', labels: { app: 'x/y' } } });
      const invalid = await raw(t.url, '/api/v1/namespaces/pb/configmaps', { method: 'POST', contentType: PROTOBUF, body: badLabel });
      expect(invalid.status).toBe(422);
      expect(invalid.json).toMatchObject({ kind: 'Status', reason: 'Invalid' });
      expect((await call(t.url, '/api/v1/namespaces/pb/configmaps/bad')).status).toBe(404);
    });

    it('bad protobuf bodies are 400 with a Status, every truncation of a real body included; the server keeps serving', async () => {
      const body = encodeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cut', labels: { a: 'b' } }, data: { k: 'v'.repeat(40) } });
      const bodies: Uint8Array[] = [Buffer.from('not protobuf'), Buffer.from('k8s\0'), Buffer.from('k8s\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff', 'latin1'), new Uint8Array(0)];
      for (let length = 1; length < body.length; length++) bodies.push(body.subarray(0, length));
      for (const candidate of bodies) {
        let decodes: boolean;
        try {
          decodeObject(candidate);
          decodes = true;
        } catch {
          decodes = false;
        }
        const r = await raw(t.url, '/api/v1/namespaces/cut/configmaps', { method: 'POST', contentType: PROTOBUF, body: candidate });
        // A cut that still decodes (e.g. before the envelope's empty trailing strings) is a
        // valid, shorter object; everything else is the client's error, never the server's.
        if (decodes) {
          expect(r.status, `length ${candidate.length}`).toBeLessThan(500);
        } else {
          expect(r.status, `length ${candidate.length}: ${r.body.toString()}`).toBe(400);
          expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
          expect(r.json.message).toMatch(/^the request body is not a valid Kubernetes protobuf object: /);
        }
      }
      expect((await call(t.url, '/api/v1/namespaces/cut/configmaps')).status).toBe(200);
    });

    it('a protobuf DeleteOptions body (what typed client-go clients send) has its preconditions honoured, for custom resources too', async () => {
      const created = await call(t.url, '/api/v1/namespaces/pd/configmaps', { method: 'POST', json: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gone' } } });
      const { uid, resourceVersion } = created.json.metadata;
      const options = (pre: Record<string, string>): Buffer => writeProtobuf('v1', 'DeleteOptions', { gracePeriodSeconds: 0, preconditions: pre, propagationPolicy: 'Background' });
      const wrongUid = await raw(t.url, '/api/v1/namespaces/pd/configmaps/gone', { method: 'DELETE', contentType: PROTOBUF, body: options({ uid: 'not-it' }) });
      expect(wrongUid.status).toBe(409);
      expect(wrongUid.json.message).toContain('Precondition failed: UID in precondition: not-it');
      const deleted = await raw(t.url, '/api/v1/namespaces/pd/configmaps/gone', { method: 'DELETE', contentType: PROTOBUF, accept: PROTOBUF_OR_JSON, body: options({ uid, resourceVersion }) });
      expect(deleted.status).toBe(200);
      expect(readProtobuf(deleted.body).object.metadata.name).toBe('gone');

      const widget = await call(t.url, '/apis/example.com/v1/namespaces/pd/widgets', { method: 'POST', json: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } } });
      const widgetOptions = writeProtobuf('example.com/v1', 'DeleteOptions', { preconditions: { resourceVersion: widget.json.metadata.resourceVersion } });
      expect((await raw(t.url, '/apis/example.com/v1/namespaces/pd/widgets/w', { method: 'DELETE', contentType: PROTOBUF, body: widgetOptions })).status).toBe(200);

      const notOptions = await raw(t.url, '/api/v1/namespaces/pd/configmaps/x', { method: 'DELETE', contentType: PROTOBUF, body: recorded('create-configmap') });
      expect(notOptions.status).toBe(400);
      expect(notOptions.json.message).toBe('the body of a delete must be DeleteOptions, not "ConfigMap"');
      const whole = writeProtobuf('v1', 'DeleteOptions', { preconditions: { uid: 'u' } });
      for (let length = 1; length < whole.length; length++) {
        const r = await raw(t.url, '/api/v1/namespaces/pd/configmaps/x', { method: 'DELETE', contentType: PROTOBUF, body: whole.subarray(0, length) });
        // A cut may still be valid DeleteOptions (then the object is missing: 404); never a 5xx.
        expect([400, 404], `length ${length}: ${r.body.toString()}`).toContain(r.status);
      }
    });

    it('an envelope naming a kind without a protobuf form is 415', async () => {
      const envelope = Buffer.from(recorded('create-configmap'));
      // Rewrite the kind "ConfigMap" (9 bytes) as "WidgetXYZ": same length, no protobuf form.
      const at = envelope.indexOf('ConfigMap');
      envelope.write('WidgetXYZ', at, 'latin1');
      const r = await raw(t.url, '/api/v1/namespaces/pb/configmaps', { method: 'POST', contentType: PROTOBUF, body: envelope });
      expect(r.status).toBe(415);
      expect(r.json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType' });
    });
  });

  describe('GET and LIST responses', () => {
    beforeAll(async () => {
      for (const name of ['one', 'two', 'three']) {
        const r = await call(t.url, '/api/v1/namespaces/pl/configmaps', { method: 'POST', json: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { n: name } }, data: { name } } });
        expect(r.status).toBe(201);
      }
    });

    it('GET with Accept protobuf is the stored object, resourceVersion stamped, in kube’s envelope', async () => {
      const json = await call(t.url, '/api/v1/namespaces/pl/configmaps/two');
      const r = await raw(t.url, '/api/v1/namespaces/pl/configmaps/two', { accept: PROTOBUF });
      expect(r.status).toBe(200);
      expect(r.contentType).toBe(PROTOBUF);
      const read = readProtobuf(r.body);
      expect(read.apiVersion).toBe('v1');
      expect(read.kind).toBe('ConfigMap');
      expect(read.object.metadata).toMatchObject({ name: 'two', namespace: 'pl', uid: json.json.metadata.uid, resourceVersion: json.json.metadata.resourceVersion, labels: { n: 'two' } });
      expect(read.object.data).toEqual({ name: 'two' });
      // Decoded by the codec it is the JSON GET, field for field.
      expect(decodeObject(r.body)).toEqual(json.json);
    });

    it('LIST with Accept protobuf is a ConfigMapList with the list’s resourceVersion and continue', async () => {
      const json = await call(t.url, '/api/v1/namespaces/pl/configmaps');
      const r = await raw(t.url, '/api/v1/namespaces/pl/configmaps', { accept: PROTOBUF_OR_JSON });
      expect(r.status).toBe(200);
      expect(r.contentType).toBe(PROTOBUF);
      const read = readProtobuf(r.body);
      expect(read.kind).toBe('ConfigMapList');
      expect(read.object.metadata.resourceVersion).toBe(json.json.metadata.resourceVersion);
      expect(read.object.items.map((i: any) => [i.metadata.name, i.data.name])).toEqual([
        ['one', 'one'],
        ['three', 'three'],
        ['two', 'two'],
      ]);
      // The same list as JSON, but for the items' type: embedded messages carry none (as kube's).
      const untyped = json.json.items.map(({ apiVersion, kind, ...item }: any) => item);
      expect(decodeObject(r.body)).toEqual({ ...json.json, items: untyped });

      const page = await raw(t.url, '/api/v1/namespaces/pl/configmaps?limit=2', { accept: PROTOBUF });
      const first = readProtobuf(page.body);
      expect(first.object.items.map((i: any) => i.metadata.name)).toEqual(['one', 'three']);
      const next = await raw(t.url, `/api/v1/namespaces/pl/configmaps?limit=2&continue=${encodeURIComponent(first.object.metadata.continue)}`, { accept: PROTOBUF });
      expect(readProtobuf(next.body).object.items.map((i: any) => i.metadata.name)).toEqual(['two']);
      // Across namespaces a page also says how many items remain: the same metadata as JSON's.
      const jsonPage = await call(t.url, '/api/v1/configmaps?limit=2');
      expect(jsonPage.json.metadata.remainingItemCount).toBeGreaterThan(0);
      const protobufPage = readProtobuf((await raw(t.url, '/api/v1/configmaps?limit=2', { accept: PROTOBUF })).body);
      expect(protobufPage.object.metadata).toEqual(jsonPage.json.metadata);
    });

    it('an empty LIST in protobuf has metadata and no items', async () => {
      const r = await raw(t.url, '/api/v1/namespaces/empty/configmaps', { accept: PROTOBUF });
      expect(r.contentType).toBe(PROTOBUF);
      const read = readProtobuf(r.body);
      expect(read.kind).toBe('ConfigMapList');
      expect(read.object.items).toBeUndefined();
      expect(Number(read.object.metadata.resourceVersion)).toBeGreaterThan(0);
    });

    it('JSON stays the answer to no Accept, */*, and a list that prefers JSON; Tables stay JSON', async () => {
      for (const accept of [undefined, '*/*', `application/json,${PROTOBUF}`, `${PROTOBUF};q=0.5,application/json`]) {
        const r = await raw(t.url, '/api/v1/namespaces/pl/configmaps/one', accept === undefined ? {} : { accept });
        expect(r.contentType, String(accept)).toBe('application/json');
        expect(r.json.metadata.name).toBe('one');
      }
      const table = await raw(t.url, '/api/v1/namespaces/pl/configmaps', { accept: `application/json;as=Table;v=v1;g=meta.k8s.io,${PROTOBUF}` });
      expect(table.json.kind).toBe('Table');
    });

    it('a stored object the protobuf schema cannot carry goes out as JSON when Accept allows it, else 500', async () => {
      // The server's writes are validated (400 for this one), but another writer can store data
      // that is not a string map.
      const odd = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'odd', namespace: 'odd' }, data: { n: 5 } };
      expect((await call(t.url, '/api/v1/namespaces/odd/configmaps', { method: 'POST', json: odd })).status).toBe(400);
      await t.storage.create('/registry/configmaps/odd/odd', Buffer.from(JSON.stringify(odd)));
      const get = await raw(t.url, '/api/v1/namespaces/odd/configmaps/odd', { accept: PROTOBUF_OR_JSON });
      expect(get.contentType).toBe('application/json');
      expect(get.json.data).toEqual({ n: 5 });
      const list = await raw(t.url, '/api/v1/namespaces/odd/configmaps', { accept: PROTOBUF_OR_JSON });
      expect(list.contentType).toBe('application/json');
      expect(list.json.items).toHaveLength(1);
      const only = await raw(t.url, '/api/v1/namespaces/odd/configmaps/odd', { accept: PROTOBUF });
      expect(only.status).toBe(500);
      expect(readProtobuf(only.body).object).toMatchObject({ reason: 'InternalError', code: 500 });
      // Another writer's value under the key, with no apiVersion and kind: the same rule.
      await t.storage.create('/registry/configmaps/odd/untyped', Buffer.from(JSON.stringify({ metadata: { name: 'untyped', namespace: 'odd' } })));
      await eventually('the cache to hold the untyped object', async () => (await call(t.url, '/api/v1/namespaces/odd/configmaps?resourceVersion=0')).json.items.length === 2);
      const untyped = await raw(t.url, '/api/v1/namespaces/odd/configmaps/untyped', { accept: PROTOBUF_OR_JSON });
      expect(untyped.contentType).toBe('application/json');
      expect(untyped.json.metadata.name).toBe('untyped');
      expect((await raw(t.url, '/api/v1/namespaces/odd/configmaps', { accept: PROTOBUF })).status).toBe(500);
    });
  });

  describe('write answers and errors', () => {
    it('create and delete answer in protobuf when Accept prefers it', async () => {
      const created = await raw(t.url, '/api/v1/namespaces/pw/configmaps', { method: 'POST', contentType: PROTOBUF, accept: PROTOBUF_OR_JSON, body: recorded('create-configmap') });
      expect(created.status).toBe(201);
      expect(created.contentType).toBe(PROTOBUF);
      expect(readProtobuf(created.body).object).toMatchObject({ metadata: { name: 'demo', namespace: 'pw' }, data: { a: 'b' } });
      const deleted = await raw(t.url, '/api/v1/namespaces/pw/configmaps/demo', { method: 'DELETE', accept: PROTOBUF });
      expect(deleted.status).toBe(200);
      expect(deleted.contentType).toBe(PROTOBUF);
      expect(readProtobuf(deleted.body).object.metadata.name).toBe('demo');
    });

    it('a merge patch answers with the patched object in protobuf when Accept prefers it', async () => {
      expect((await call(t.url, '/api/v1/namespaces/pw/configmaps', { method: 'POST', json: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p' } } })).status).toBe(201);
      const r = await raw(t.url, '/api/v1/namespaces/pw/configmaps/p', {
        method: 'PATCH',
        contentType: 'application/merge-patch+json',
        accept: PROTOBUF_OR_JSON,
        body: JSON.stringify({ data: { patched: 'yes' } }),
      });
      expect(r.status).toBe(200);
      expect(r.contentType).toBe(PROTOBUF);
      expect(readProtobuf(r.body).object).toMatchObject({ metadata: { name: 'p' }, data: { patched: 'yes' } });
      const protobufPatch = await raw(t.url, '/api/v1/namespaces/pw/configmaps/p', { method: 'PATCH', contentType: PROTOBUF, body: recorded('create-configmap') });
      expect(protobufPatch.status).toBe(415);
    });

    it('a JSON body may ask for a protobuf answer, a protobuf body for a JSON one', async () => {
      const r = await raw(t.url, '/api/v1/namespaces/pw/secrets', {
        method: 'POST',
        contentType: 'application/json',
        accept: PROTOBUF,
        body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: Buffer.from('v').toString('base64') }, type: 'Opaque' }),
      });
      expect(r.status).toBe(201);
      const read = readProtobuf(r.body);
      expect(read.kind).toBe('Secret');
      expect(Buffer.from(read.object.data.k).toString()).toBe('v');
      expect(read.object.type).toBe('Opaque');
    });

    it('errors are a protobuf Status when the client accepts protobuf (kube’s ErrorNegotiated), JSON otherwise', async () => {
      const missing = await raw(t.url, '/api/v1/namespaces/pw/configmaps/nope', { accept: PROTOBUF_OR_JSON });
      expect(missing.status).toBe(404);
      expect(missing.contentType).toBe(PROTOBUF);
      expect(readProtobuf(missing.body)).toEqual({
        apiVersion: 'v1',
        kind: 'Status',
        object: { metadata: {}, status: 'Failure', message: 'configmaps "nope" not found', reason: 'NotFound', details: { name: 'nope', kind: 'configmaps' }, code: 404 },
      });
      const exists = await raw(t.url, '/api/v1/namespaces/pw/secrets', { method: 'POST', contentType: PROTOBUF, accept: PROTOBUF, body: encodeObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }) });
      expect(exists.status).toBe(409);
      expect(readProtobuf(exists.body).object).toMatchObject({ reason: 'AlreadyExists', code: 409 });
      const badQuery = await raw(t.url, '/api/v1/namespaces/pw/configmaps?limit=x', { accept: PROTOBUF });
      expect(badQuery.status).toBe(400);
      expect(readProtobuf(badQuery.body).object).toMatchObject({ reason: 'BadRequest', code: 400 });
      // Nothing plain acceptable: the Status is JSON, as kube's WriteRawJSON fallback.
      const yaml = await raw(t.url, '/api/v1/namespaces/pw/configmaps/nope', { accept: 'application/yaml' });
      expect(yaml.status).toBe(406);
      expect(yaml.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable' });
      expect(yaml.json.message).toContain(PROTOBUF);
      const create = await raw(t.url, '/api/v1/namespaces/pw/configmaps', { method: 'POST', accept: 'application/yaml', contentType: PROTOBUF, body: recorded('create-configmap') });
      expect(create.status).toBe(406);
      expect(create.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable' });
      expect((await call(t.url, '/api/v1/namespaces/pw/configmaps/demo')).status).toBe(404);
    });
  });

  it('with tokens: 403 is a protobuf Status; 401 (before the verb is known) stays JSON', async () => {
    const secured = await startTestServer({ workers: 0, tokens: TokenTable.parse('reader-token,reader,ro\n') });
    try {
      const forbidden = await fetch(`${secured.url}/api/v1/namespaces/a/configmaps`, {
        method: 'POST',
        headers: { authorization: 'Bearer reader-token', 'content-type': PROTOBUF, accept: PROTOBUF_OR_JSON },
        body: recorded('create-configmap'),
      });
      expect(forbidden.status).toBe(403);
      expect(forbidden.headers.get('content-type')).toBe(PROTOBUF);
      expect(readProtobuf(Buffer.from(await forbidden.arrayBuffer())).object).toMatchObject({ reason: 'Forbidden', code: 403 });
      const unauthorized = await raw(secured.url, '/api/v1/namespaces/a/configmaps', { accept: PROTOBUF });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    } finally {
      await secured.close();
    }
  });

  describe('custom resources have no protobuf form', () => {
    const widgets = '/apis/example.com/v1/namespaces/cr/widgets';

    it('a protobuf body is 415 UnsupportedMediaType', async () => {
      const r = await raw(t.url, widgets, { method: 'POST', contentType: PROTOBUF, accept: PROTOBUF_OR_JSON, body: recorded('create-configmap') });
      expect(r.status).toBe(415);
      expect(r.contentType).toBe('application/json');
      expect(r.json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
    });

    it('Accept protobuf,json gets JSON for writes, GET, LIST and errors; protobuf alone is 406', async () => {
      const created = await raw(t.url, widgets, {
        method: 'POST',
        contentType: 'application/json',
        accept: PROTOBUF_OR_JSON,
        body: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { color: 'blue' } }),
      });
      expect(created.status).toBe(201);
      expect(created.contentType).toBe('application/json');
      const get = await raw(t.url, `${widgets}/w`, { accept: PROTOBUF_OR_JSON });
      expect(get.json).toMatchObject({ kind: 'Widget', spec: { color: 'blue' } });
      const list = await raw(t.url, widgets, { accept: PROTOBUF_OR_JSON });
      expect(list.json).toMatchObject({ kind: 'WidgetList', items: [{ metadata: { name: 'w' } }] });
      const missing = await raw(t.url, `${widgets}/nope`, { accept: PROTOBUF_OR_JSON });
      expect(missing.status).toBe(404);
      expect(missing.json).toMatchObject({ kind: 'Status', reason: 'NotFound' });
      for (const [method, path] of [
        ['GET', `${widgets}/w`],
        ['GET', widgets],
        ['DELETE', `${widgets}/w`],
      ] as const) {
        const r = await raw(t.url, path, { method, accept: PROTOBUF });
        expect(r.status, `${method} ${path}`).toBe(406);
        expect(r.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', code: 406 });
      }
      // The refused DELETE deleted nothing.
      expect((await call(t.url, `${widgets}/w`)).status).toBe(200);
    });
  });

  it('a watch asking for protobuf or JSON (client-go’s Accept) gets a protobuf stream; one asking for what it cannot have is 406', async () => {
    // The frames themselves are read in watch-views.test.ts.
    const watch = await raw(t.url, '/api/v1/namespaces/pl/configmaps?watch=true&timeoutSeconds=1', { accept: PROTOBUF_OR_JSON });
    expect(watch.status).toBe(200);
    expect(watch.contentType).toBe(`${PROTOBUF};stream=watch`);
    expect(watch.body.readUInt32BE(0)).toBeLessThanOrEqual(watch.body.length - 4);
    const refused = await raw(t.url, '/api/v1/namespaces/pl/configmaps?watch=true', { accept: 'application/yaml' });
    expect(refused.status).toBe(406);
    expect(refused.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable' });
    expect(refused.json.message).toContain(PROTOBUF);
  });

});
