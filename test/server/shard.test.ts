/**
 * shardSelector over HTTP (KEP-5866): LIST filters by the hashed uid or namespace and echoes the
 * selector in metadata.shardInfo, WATCH streams only the shard's events, and bad syntax gets a
 * 400 Status with kube-apiserver's message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardRangeText } from '../../src/select/shard-selector.js';
import { call, openWatch, podBody, startTestServer, synced, type TestServer, type WatchReader } from './http-helpers.js';
import { shardOf } from '../helpers/shards.js';

const q = (selector: string): string => `shardSelector=${encodeURIComponent(selector)}`;

interface Item {
  metadata: { name: string; namespace: string; uid: string };
}
const keys = (items: readonly Item[]): string[] => items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`).sort();

describe.each([0, 2])('shardSelector over HTTP (workers: %i)', (workers) => {
  let t: TestServer;
  let last = 0;
  const NAMESPACES = ['default', 'prod', 'search', 'billing'];

  async function create(name: string, namespace: string, labels: Record<string, string>): Promise<Item & { rv: number }> {
    const reply = await call(t.url, `/api/v1/namespaces/${namespace}/pods`, { method: 'POST', json: podBody(name, { labels }) });
    if (reply.status !== 201) throw new Error(`creating ${name}: ${reply.status} ${reply.text}`);
    return { ...reply.json, rv: Number(reply.json.metadata.resourceVersion) };
  }

  beforeAll(async () => {
    t = await startTestServer({ workers });
    for (let i = 0; i < 40; i++) last = (await create(`p${i}`, NAMESPACES[i % NAMESPACES.length]!, { app: i % 3 === 0 ? 'web' : 'db' })).rv;
    await synced(t.cacher('pods'), last);
  });
  afterAll(() => t.close());

  it('LIST returns the shard of the hashed uid and echoes the selector in metadata.shardInfo', async () => {
    const whole = await call(t.url, '/api/v1/pods');
    expect(whole.json.metadata.shardInfo).toBeUndefined();
    const all: Item[] = whole.json.items;
    const union: Item[] = [];
    for (let i = 0; i < 2; i++) {
      const selector = shardRangeText('uid', i, 2);
      const r = await call(t.url, `/api/v1/pods?${q(selector)}`);
      expect(r.status, r.text.slice(0, 300)).toBe(200);
      expect(r.json.metadata.shardInfo).toEqual({ selector });
      expect(keys(r.json.items)).toEqual(keys(all.filter((o) => shardOf(o.metadata.uid, 2) === i)));
      expect(r.json.metadata.remainingItemCount).toBeUndefined();
      union.push(...r.json.items);
    }
    expect(keys(union)).toEqual(keys(all));
    expect(new Set(keys(union)).size).toBe(all.length);
  });

  it('Table and PartialObjectMetadata lists are sharded too and carry shardInfo', async () => {
    const selector = shardRangeText('uid', 0, 2);
    const all: Item[] = (await call(t.url, '/api/v1/pods')).json.items;
    const mine = all.filter((o) => shardOf(o.metadata.uid, 2) === 0).map((o) => o.metadata.name).sort();
    const table = await call(t.url, `/api/v1/pods?${q(selector)}`, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
    expect(table.json.kind).toBe('Table');
    expect(table.json.metadata.shardInfo).toEqual({ selector });
    expect(table.json.rows.map((r: { cells: string[] }) => r.cells[0]).sort()).toEqual(mine);
    const partial = await call(t.url, `/api/v1/pods?${q(selector)}`, { headers: { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' } });
    expect(partial.json.kind).toBe('PartialObjectMetadataList');
    expect(partial.json.metadata.shardInfo).toEqual({ selector });
    expect(partial.json.items.map((i: Item) => i.metadata.name).sort()).toEqual(mine);
  });

  it('combines with a namespace path, a label selector and paging', async () => {
    const selector = shardRangeText('uid', 1, 3);
    const all: Item[] = (await call(t.url, '/api/v1/namespaces/prod/pods?labelSelector=app%3Ddb')).json.items;
    const expected = keys(all.filter((o) => shardOf(o.metadata.uid, 3) === 1));
    const got: Item[] = [];
    let token = '';
    do {
      const r = await call(t.url, `/api/v1/namespaces/prod/pods?labelSelector=app%3Ddb&limit=1&${q(selector)}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.json.metadata.shardInfo).toEqual({ selector });
      got.push(...r.json.items);
      token = r.json.metadata.continue ?? '';
    } while (token !== '');
    expect(keys(got)).toEqual(expected);
  });

  it('a namespace-keyed shard holds whole namespaces, and the echo is the canonical form', async () => {
    const loose = "shardRange( object.metadata.namespace ,\"0x0000000000000000\",'0x8000000000000000' )";
    const r = await call(t.url, `/api/v1/pods?${q(loose)}`);
    expect(r.status).toBe(200);
    expect(r.json.metadata.shardInfo).toEqual({ selector: shardRangeText('namespace', 0, 2) });
    const all: Item[] = (await call(t.url, '/api/v1/pods')).json.items;
    expect(keys(r.json.items)).toEqual(keys(all.filter((o) => shardOf(o.metadata.namespace, 2) === 0)));
  });

  it.each([
    ["shardRange(object.metadata.uid, '0x0', '0x8000000000000000')", `invalid shard selector: hexStart must be a 0x-prefixed 16-digit hex value, got "0x0" (did you mean "0x0000000000000000"?)`],
    ["shardRange(object.metadata.name, '0x0000000000000000', '0x8000000000000000')", 'invalid shard selector: unsupported field path "object.metadata.name"; supported: object.metadata.uid, object.metadata.namespace'],
    ["shardRange(object.metadata.uid, '0x8000000000000000', '0x0000000000000000')", 'invalid shard selector: shard range start 0x8000000000000000 must be less than end 0x0000000000000000'],
  ])('bad syntax %s is a 400 Status on LIST and WATCH', async (selector, message) => {
    for (const path of [`/api/v1/pods?${q(selector)}`, `/api/v1/pods?watch=true&${q(selector)}`, `/api/v1/namespaces/default/pods?watch=1&${q(selector)}`]) {
      const r = await call(t.url, path);
      expect(r.status, path).toBe(400);
      expect(r.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400, message });
    }
  });

  it('WATCH streams only the shard’s events; the shards together are the unsharded stream', async () => {
    const from = (await call(t.url, '/api/v1/pods')).json.metadata.resourceVersion as string;
    const count = 2;
    const opened: WatchReader[] = [];
    try {
      const whole = await openWatch(t.url, `/api/v1/pods?watch=true&resourceVersion=${from}`);
      opened.push(whole);
      const shards: WatchReader[] = [];
      for (let i = 0; i < count; i++) {
        const w = await openWatch(t.url, `/api/v1/pods?watch=true&resourceVersion=${from}&${q(shardRangeText('uid', i, count))}`);
        expect(w.status).toBe(200);
        shards.push(w);
        opened.push(w);
      }
      const created: Array<Item & { rv: number }> = [];
      for (let i = 0; i < 20; i++) created.push(await create(`w${i}`, 'default', { app: 'web' }));
      // And one delete: a DELETED goes to the shard of the object deleted.
      const gone = created[0]!;
      expect((await call(t.url, `/api/v1/namespaces/default/pods/${gone.metadata.name}`, { method: 'DELETE' })).status).toBe(200);
      await whole.untilEvents(created.length + 1);
      for (let i = 0; i < count; i++) {
        const mine = created.filter((o) => shardOf(o.metadata.uid, count) === i);
        const expected = mine.length + (shardOf(gone.metadata.uid, count) === i ? 1 : 0);
        await shards[i]!.untilEvents(expected);
      }
      const seen = shards.map((w) => w.events.map((e) => `${e.type} ${e.object.metadata.uid}`));
      for (let i = 0; i < count; i++) {
        expect(seen[i]).toEqual(whole.events.filter((e) => shardOf(e.object.metadata.uid, count) === i).map((e) => `${e.type} ${e.object.metadata.uid}`));
      }
      expect(seen.flat().sort()).toEqual(whole.events.map((e) => `${e.type} ${e.object.metadata.uid}`).sort());
    } finally {
      for (const w of opened) w.close();
    }
  });
});
