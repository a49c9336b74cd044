/**
 * Patches and writes do bounded work (CVE-2019-1002100): a copy bomb, a patch that builds a huge
 * or deeply nested object, too many operations, an object over the store's value limit, each get
 * a 413 or 422 Status; the stored object is unchanged and the server keeps serving. On the
 * embedded store and on real etcd (whose own limit is 1.5 MiB per request).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStorage } from '../../src/storage/etcd.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/storage.js';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, startTestServer, type TestServer } from './http-helpers.js';

// Objects of a custom resource without schema, which takes any content: the patches build
// arbitrary lists and strings that a built-in kind's schema validation would refuse.
const BLOBS = defineResource({ group: 'example.com', version: 'v1', kind: 'Blob', plural: 'blobs', namespaced: true });
const PODS = '/apis/example.com/v1/namespaces/default/blobs';
const KEY = '/registry/example.com/blobs/default/bomb';
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };

const copies = (n: number): unknown[] => Array.from({ length: n }, () => ({ op: 'copy', from: '/spec/b', path: '/spec/b/-' }));

/** `{"a":{"a":...{}}}`, `depth` objects deep. */
function chain(depth: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

/** `add` operations that each hang a 900-deep chain under the previous one: 18 000 deep in all. */
function deepAdds(): unknown[] {
  const ops: unknown[] = [{ op: 'add', path: '/spec/d', value: chain(900) }];
  for (let i = 1; i < 20; i++) ops.push({ op: 'add', path: '/spec/d' + '/a'.repeat(900 * i - 1) + '/a', value: chain(900) });
  return ops;
}

/** A full garbage collection, without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * What this process holds after full collections: the JS heap and the buffers outside it. The
 * least of a few, as external memory is released a collection or two after its owner.
 */
function retainedBytes(): number {
  let least = Infinity;
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    const { heapUsed, external } = process.memoryUsage();
    least = Math.min(least, heapUsed + external);
  }
  return least;
}

interface Store {
  name: string;
  open(): Promise<{ storage: Storage; stop(): Promise<void> }>;
  /** The answer to a create whose value is a few bytes under 1.5 MiB. */
  nearLimit: number;
}

const stores: Store[] = [
  { name: 'embedded store', open: async () => ({ storage: new MemoryStorage(), stop: async () => {} }), nearLimit: 201 },
  {
    name: 'etcd',
    open: async () => {
      const etcd: EtcdHandle = await startEtcd();
      return { storage: new EtcdStorage({ endpoints: etcd.endpoints }), stop: () => etcd.stop() };
    },
    // etcd counts the key and the request around the value against the same 1.5 MiB.
    nearLimit: 413,
  },
];

describe.each(stores)('bounded patches on the $name', (store) => {
  let t: TestServer;
  let stopStore: () => Promise<void>;
  let revision: number;

  beforeAll(async () => {
    const opened = await store.open();
    stopStore = opened.stop;
    t = await startTestServer({ workers: 0, storage: opened.storage as MemoryStorage, resources: [...BUILTIN_RESOURCES, BLOBS] });
    const created = await call(t.url, PODS, { method: 'POST', json: { metadata: { name: 'bomb' }, spec: { b: [] } } });
    expect(created.status).toBe(201);
    revision = Number(created.json.metadata.resourceVersion);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await stopStore?.();
  });

  /** The server still serves, and the object is exactly as created. */
  async function unchanged(): Promise<void> {
    expect((await call(t.url, '/healthz')).status).toBe(200);
    const list = await call(t.url, PODS);
    expect(list.status).toBe(200);
    expect(list.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['bomb']);
    const { item } = await t.storage.get(KEY);
    expect(item?.modRevision).toBe(revision);
    const got = await call(t.url, `${PODS}/bomb`);
    expect(got.json.spec).toEqual({ b: [] });
  }

  const patch = (headers: Record<string, string>, body: unknown): Promise<Awaited<ReturnType<typeof call>>> =>
    call(t.url, `${PODS}/bomb`, { method: 'PATCH', headers, body: JSON.stringify(body) });

  it.each([36, 22])('a copy bomb of %i copies is 413: the working document stops growing at the object limit', async (n) => {
    const reply = await patch(JSON_PATCH, copies(n));
    expect(reply.status, reply.text.slice(0, 300)).toBe(413);
    expect(reply.json).toMatchObject({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge' });
    expect(reply.json.message).toMatch(/the patched object grows past 1572864 bytes, the limit/);
    await unchanged();
  });

  it('copies removed again as they go stop at the copy budget (422): the work of all copies is bounded, not only the size', async () => {
    // 15 doublings make /spec/b about 80 KB; then each copy of it is removed at once, so the
    // document stays small while the copies add up past 1.5 MiB.
    const churn = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? { op: 'copy', from: '/spec/b', path: '/spec/c' } : { op: 'remove', path: '/spec/c' }));
    const reply = await patch(JSON_PATCH, [...copies(15), ...churn]);
    expect(reply.status, reply.text.slice(0, 300)).toBe(422);
    expect(reply.json).toMatchObject({ kind: 'Status', code: 422, reason: 'Invalid' });
    expect(reply.json.message).toMatch(/copy operations add more than 1572864 bytes/);
    await unchanged();
  });

  it('a JSON patch whose adds build an object 18 000 levels deep is 422, not a stack overflow', async () => {
    const reply = await patch(JSON_PATCH, deepAdds());
    expect(reply.status, reply.text.slice(0, 300)).toBe(422);
    expect(reply.json.message).toMatch(/nested more than 1000 levels/);
    await unchanged();
  });

  it('a JSON patch that copies a chain under its own innermost object (depth doubles each time) is 422', async () => {
    const ops = [{ op: 'add', path: '/spec/d', value: {} }, ...Array.from({ length: 14 }, (_, k) => ({ op: 'copy', from: '/spec/d', path: '/spec/d' + '/a'.repeat(2 ** k) }))];
    const reply = await patch(JSON_PATCH, ops);
    expect(reply.status, reply.text.slice(0, 300)).toBe(422);
    expect(reply.json.message).toMatch(/nested more than 1000 levels/);
    await unchanged();
  });

  it('more than 10 000 operations are 413, in kube-apiserver words; 10 000 apply', async () => {
    const test = { op: 'test', path: '/spec/b', value: [] };
    const over = await patch(JSON_PATCH, Array.from({ length: 10_001 }, () => test));
    expect(over.status, over.text.slice(0, 300)).toBe(413);
    expect(over.json).toMatchObject({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge' });
    expect(over.json.message).toBe('The allowed maximum operations in a JSON patch is 10000, got 10001');
    const at = await patch(JSON_PATCH, Array.from({ length: 10_000 }, () => test));
    expect(at.status, at.text.slice(0, 300)).toBe(200);
    await unchanged();
  });

  it('a merge patch whose result passes the 1.5 MiB object limit is 413', async () => {
    const reply = await patch(MERGE_PATCH, { spec: { big: 'x'.repeat(2_000_000) } });
    expect(reply.status, reply.text.slice(0, 300)).toBe(413);
    expect(reply.json).toMatchObject({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge' });
    expect(reply.json.message).toMatch(/the limit is 1572864/);
    await unchanged();
  });

  it('a JSON patch adding values past the object limit is 413', async () => {
    const ops = [0, 1].map((i) => ({ op: 'add', path: `/spec/s${i}`, value: 'y'.repeat(1_000_000) }));
    const reply = await patch(JSON_PATCH, ops);
    expect(reply.status, reply.text.slice(0, 300)).toBe(413);
    await unchanged();
  });

  it('a create or update over the object limit is 413, not a store error', async () => {
    const big = { metadata: { name: 'huge' }, spec: { big: 'z'.repeat(2_000_000) } };
    const created = await call(t.url, PODS, { method: 'POST', json: big });
    expect(created.status, created.text.slice(0, 300)).toBe(413);
    const updated = await call(t.url, `${PODS}/bomb`, { method: 'PUT', json: { ...big, metadata: { name: 'bomb' } } });
    expect(updated.status, updated.text.slice(0, 300)).toBe(413);
    await unchanged();
  });

  it('an object just under the limit: the store takes it or answers 413, never a 400 or 500', async () => {
    const json = { metadata: { name: 'edge' }, spec: { s: '' } };
    // + namespace, uid, creationTimestamp, kind, apiVersion (example.com/v1), and the creator's managedFields entry
    const sent = JSON.stringify(json).length + 190 + 150;
    json.spec.s = 'x'.repeat(1.5 * 1024 * 1024 - sent);
    const reply = await call(t.url, PODS, { method: 'POST', json });
    expect(reply.status, reply.text.slice(0, 300)).toBe(store.nearLimit);
    if (reply.status === 413) expect(reply.json).toMatchObject({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge' });
    if (reply.status === 201) {
      expect((await t.storage.get('/registry/example.com/blobs/default/edge')).item!.value.byteLength).toBeLessThanOrEqual(1.5 * 1024 * 1024);
      expect((await call(t.url, `${PODS}/edge`, { method: 'DELETE' })).status).toBe(200);
    }
    await unchanged();
  });

  it('after the hostile patches the memory they took is released: repeating them all leaves the heap at its baseline', async () => {
    const hostile: Array<[Record<string, string>, unknown]> = [
      [JSON_PATCH, copies(36)],
      [JSON_PATCH, copies(22)],
      [JSON_PATCH, deepAdds()],
      [JSON_PATCH, [0, 1].map((i) => ({ op: 'add', path: `/spec/s${i}`, value: 'y'.repeat(1_000_000) }))],
      [MERGE_PATCH, { spec: { big: 'x'.repeat(2_000_000) } }],
    ];
    const round = async (): Promise<void> => {
      for (const [headers, body] of hostile) expect([413, 422]).toContain((await patch(headers, body)).status);
    };
    // One round first, so what stays anyway (compiled code, pooled buffers) is in the baseline.
    await round();
    const baseline = retainedBytes();
    // Each round makes the server (inline, in this process) build and drop more than 8 MiB (two
    // copy budgets, 4 MB of strings): kept, five rounds would hold over 40 MiB.
    for (let i = 0; i < 5; i++) await round();
    const after = retainedBytes();
    expect(after - baseline, `retained ${((after - baseline) / 2 ** 20).toFixed(1)} MiB more than the baseline`).toBeLessThan(8 * 2 ** 20);
    await unchanged();
  });

  it('a patch within the limits still applies', async () => {
    const reply = await patch(JSON_PATCH, copies(5));
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    let expected: unknown[] = [];
    for (let i = 0; i < 5; i++) expected = [...expected, structuredClone(expected)];
    expect(reply.json.spec.b).toEqual(expected);
    revision = Number(reply.json.metadata.resourceVersion);
    const undo = await patch(MERGE_PATCH, { spec: { b: [] } });
    expect(undo.status).toBe(200);
    revision = Number(undo.json.metadata.resourceVersion);
    await unchanged();
  });
});
