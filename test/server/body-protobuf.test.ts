/**
 * Protobuf request bodies (what kubectl ≥ 1.32 sends for built-in kinds): decoded and written as
 * if they had come as JSON; kinds without a protobuf form are 415.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeObject } from '../../src/encode/protobuf/envelope.js';
import { ProtobufWriter } from '../../src/encode/protobuf/wire.js';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, startTestServer, type TestServer } from './http-helpers.js';

const PROTOBUF = { 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/json' };

/** A protobuf body for `apiVersion`/`kind` whose message is built by `body`, field by field. */
function envelope(apiVersion: string, kind: string, body: (field: (n: number, text: string) => void, open: (n: number) => number, w: ProtobufWriter) => void): Uint8Array {
  const w = new ProtobufWriter();
  w.raw(Uint8Array.of(0x6b, 0x38, 0x73, 0x00));
  const field = (n: number, text: string): void => {
    w.key(n * 8 + 2);
    w.string(text);
  };
  const open = (n: number): number => {
    w.key(n * 8 + 2);
    return w.begin();
  };
  const typeMeta = open(1);
  field(1, apiVersion);
  field(2, kind);
  w.end(typeMeta);
  const raw = open(2);
  body(field, open, w);
  w.end(raw);
  return w.finish();
}

/** A SelfSubjectAccessReview as kubectl 1.33 sends it. */
function reviewBytes(attributes: Record<number, string>): Uint8Array {
  return envelope('authorization.k8s.io/v1', 'SelfSubjectAccessReview', (field, open, w) => {
    w.end(open(1));
    const spec = open(2);
    const resource = open(1);
    for (const [n, text] of Object.entries(attributes)) field(Number(n), text);
    w.end(resource);
    w.end(spec);
  });
}

describe('protobuf request bodies', () => {
  let t: TestServer;
  beforeAll(async () => {
    const widget = defineResource({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true });
    t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, widget] });
  });
  afterAll(() => t.close());

  it('create and update of a Deployment in protobuf store what the JSON would have', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'pb', labels: { app: 'pb' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'pb' } }, template: { metadata: { labels: { app: 'pb' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    const created = await call(t.url, '/apis/apps/v1/namespaces/pb/deployments', { method: 'POST', headers: PROTOBUF, body: encodeObject(deployment) });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ kind: 'Deployment', metadata: { name: 'pb', namespace: 'pb', labels: { app: 'pb' } }, spec: { replicas: 2 } });
    expect(created.json.spec.template.spec.containers[0]).toMatchObject({ name: 'c', image: 'nginx' });
    const updated = await call(t.url, '/apis/apps/v1/namespaces/pb/deployments/pb', {
      method: 'PUT',
      headers: PROTOBUF,
      body: encodeObject({ ...deployment, metadata: { ...deployment.metadata, namespace: 'pb' }, spec: { ...deployment.spec, replicas: 5 } }),
    });
    expect(updated.status, updated.text).toBe(200);
    expect((await call(t.url, '/apis/apps/v1/namespaces/pb/deployments/pb')).json.spec.replicas).toBe(5);
  });

  it('a SelfSubjectAccessReview in protobuf is answered', async () => {
    const r = await call(t.url, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { method: 'POST', headers: PROTOBUF, body: reviewBytes({ 1: 'default', 2: 'create', 5: 'pods' }) });
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({ spec: { resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods' } }, status: { allowed: true } });
  });

  it('a custom resource in protobuf is 415; malformed protobuf is 400', async () => {
    const body = envelope('example.com/v1', 'Widget', (field, open, w) => {
      const metadata = open(1);
      field(1, 'w');
      w.end(metadata);
    });
    const cr = await call(t.url, '/apis/example.com/v1/namespaces/pb/widgets', { method: 'POST', headers: PROTOBUF, body });
    expect(cr.status).toBe(415);
    expect(cr.json.reason).toBe('UnsupportedMediaType');
    const bad = await call(t.url, '/api/v1/namespaces/pb/pods', { method: 'POST', headers: PROTOBUF, body: Buffer.from('not protobuf') });
    expect(bad.status).toBe(400);
  });
});
