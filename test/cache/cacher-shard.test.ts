/**
 * Sharded LIST and WATCH (KEP-5866) through the cacher: on random histories, the shards of a
 * partition of the hash space are disjoint and together give exactly the unsharded stream and
 * LIST, alone and combined with label selectors, namespaces, paging and watch-list; inline and
 * with dispatcher threads, on the embedded store and on real etcd.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacher, type Cacher } from '../../src/cache/cacher.js';
import type { Watch, WatchEvent } from '../../src/delivery/watch-iterator.js';
import { shardRangeText, type ShardField } from '../../src/select/shard-selector.js';
import { EtcdStorage } from '../../src/storage/etcd.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/storage.js';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { POD_SCHEMA } from '../helpers/pods.js';
import { seededRandom } from '../helpers/random.js';
import { shardOf } from '../helpers/shards.js';

const PREFIX = '/registry/pods/';
const NAMESPACES = ['default', 'kube-system', 'prod', 'staging', 'dev', 'monitoring', 'team-a', 'search', 'billing', 'cache', 'frontend', 'backend'];

interface Event {
  type: string;
  name: string;
  namespace: string;
  uid: string;
  rv: number;
}

function event(e: WatchEvent): Event {
  const m = (e.object as { metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } }).metadata ?? {};
  return { type: e.type, name: m.name ?? '', namespace: m.namespace ?? '', uid: m.uid ?? '', rv: Number(m.resourceVersion) };
}

/** Events until `done` holds for the last one (it is included); bookmarks are skipped. */
async function readTo(watch: Watch, done: (e: Event) => boolean, timeoutMs = 30_000): Promise<Event[]> {
  const out: Event[] = [];
  const iterator = watch[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watch did not reach its fence in ${timeoutMs} ms after ${out.length} events`)), timeoutMs);
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`watch ended after ${out.length} events`);
      if (next.value.type === 'BOOKMARK') continue;
      const e = event(next.value);
      out.push(e);
      if (done(e)) return out;
    }
  } finally {
    clearTimeout(timer);
    watch.stop();
  }
}

/** Writes pods with uids (kube-apiserver assigns one at create; a recreated name gets a new one). */
class History {
  readonly #storage: Storage;
  readonly #live = new Map<string, { uid: string; labels: Record<string, string> }>();
  #fences = 0;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  async #write(namespace: string, name: string, uid: string, labels: Record<string, string>, create: boolean): Promise<void> {
    const value = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, uid, labels }, spec: {}, status: { phase: 'Running' } }));
    const key = `${PREFIX}${namespace}/${name}`;
    if (create) await this.#storage.create(key, value);
    else await this.#storage.update(key, value);
  }

  /** `steps` random creates, label changes and deletes over a small set of names. */
  async random(seed: number, steps: number): Promise<void> {
    const rand = seededRandom(seed);
    for (let i = 0; i < steps; i++) {
      const namespace = NAMESPACES[Math.floor(rand() * NAMESPACES.length)]!;
      const name = `p${Math.floor(rand() * 40)}`;
      const key = `${namespace}/${name}`;
      const live = this.#live.get(key);
      const labels = { tier: rand() < 0.5 ? 'web' : 'db' };
      if (live === undefined) {
        const uid = randomUUID();
        await this.#write(namespace, name, uid, labels, true);
        this.#live.set(key, { uid, labels });
      } else if (rand() < 0.25) {
        await this.#storage.delete(`${PREFIX}${key}`);
        this.#live.delete(key);
      } else {
        await this.#write(namespace, name, live.uid, labels, false);
        this.#live.set(key, { uid: live.uid, labels });
      }
    }
  }

  /**
   * One new object in each of the `count` shards of `field`, with `labels` (namespace-keyed
   * fences get fresh namespace names until one hashes into the shard): a sharded watch reads up
   * to its fence, and then has seen everything written before it.
   */
  async fences(field: ShardField, count: number, labels: Record<string, string>): Promise<Event[]> {
    const out: Event[] = [];
    for (let shard = 0; shard < count; shard++) {
      for (;;) {
        const uid = randomUUID();
        const namespace = field === 'namespace' ? `fence-${randomUUID().slice(0, 8)}` : 'fences';
        if (shardOf(field === 'uid' ? uid : namespace, count) !== shard) continue;
        const name = `fence-${++this.#fences}`;
        await this.#write(namespace, name, uid, labels, true);
        out.push({ type: 'ADDED', name, namespace, uid, rv: await this.#storage.currentRevision() });
        break;
      }
    }
    return out;
  }
}

const keyOf = (e: Event): string => `${e.namespace}/${e.name}`;
const valueOf = (e: { uid: string; namespace: string }, field: ShardField): string => (field === 'uid' ? e.uid : e.namespace);

let etcd: EtcdHandle | undefined;
afterAll(async () => {
  await etcd?.stop();
});

for (const [store, workers] of [
  ['memory', 0],
  ['memory', 2],
  ['etcd', 1],
] as const) {
  describe(`sharded LIST and WATCH through the cacher (${store}, ${workers ? `${workers} dispatcher threads` : 'inline dispatch'})`, () => {
    let storage: Storage;
    let cacher: Cacher;
    let history: History;

    beforeAll(async () => {
      if (store === 'etcd') etcd = await startEtcd();
      storage = store === 'etcd' ? new EtcdStorage({ endpoints: etcd!.endpoints, progressNotifyIntervalMs: 500 }) : new MemoryStorage();
      cacher = createCacher({ storage, prefix: PREFIX, ...POD_SCHEMA, workers });
      history = new History(storage);
      await history.random(1, 60);
      await cacher.ready();
    });
    afterAll(async () => {
      await cacher.stop();
      await storage.close();
    });

    it.each([
      ['uid', 4, undefined],
      ['uid', 3, 'tier=web'],
      ['namespace', 2, undefined],
      ['namespace', 3, 'tier=db'],
    ] as const)('the %s shards of %i: disjoint watches whose union is the unsharded watch (labelSelector %s)', async (field, count, labelSelector) => {
      const from = String(await storage.currentRevision());
      const base = { resourceVersion: from, ...(labelSelector === undefined ? {} : { labelSelector }) };
      const whole = await cacher.watch(base);
      const shards = await Promise.all(Array.from({ length: count }, (_, i) => cacher.watch({ ...base, shardSelector: shardRangeText(field, i, count) })));
      await history.random(100 + count, 150);
      const fences = await history.fences(field, count, { tier: labelSelector === undefined ? 'fence' : labelSelector.split('=')[1]! });
      const last = fences[count - 1]!;
      const wholeEvents = await readTo(whole, (e) => e.uid === last.uid);
      const sharded = await Promise.all(shards.map((w, i) => readTo(w, (e) => e.uid === fences[i]!.uid)));

      expect(wholeEvents.length).toBeGreaterThan(2 * count);
      for (let i = 0; i < count; i++) {
        expect(sharded[i]!.length).toBeGreaterThan(1);
        // Exactly the unsharded events of this shard, in order, up to its fence.
        expect(sharded[i]).toEqual(wholeEvents.filter((e) => shardOf(valueOf(e, field), count) === i && e.rv <= fences[i]!.rv));
      }
      // Disjoint, and together the whole stream (up to the first fence every shard has passed).
      const union = sharded.flat().filter((e) => e.rv < fences[0]!.rv);
      expect(new Set(union.map((e) => `${e.rv} ${keyOf(e)}`)).size).toBe(union.length);
      expect(union.sort((a, b) => a.rv - b.rv)).toEqual(wholeEvents.filter((e) => e.rv < fences[0]!.rv));
    });

    it.each([
      ['uid', 4],
      ['namespace', 3],
    ] as const)('the %s shards of %i: disjoint LISTs whose union is the unsharded LIST, paged or not, with a namespace or not', async (field, count) => {
      await history.random(200 + count, 80);
      const rv = String(await storage.currentRevision());
      for (const scope of [{}, { namespace: 'prod' }, { labelSelector: 'tier=web' }]) {
        const whole = await cacher.list({ resourceVersion: rv, resourceVersionMatch: 'Exact', ...scope });
        const all = whole.items.map((o) => event({ type: 'ADDED', object: o }));
        const union: Event[] = [];
        for (let i = 0; i < count; i++) {
          const shardSelector = shardRangeText(field, i, count);
          const items = (await cacher.list({ resourceVersion: rv, resourceVersionMatch: 'Exact', shardSelector, ...scope })).items.map((o) => event({ type: 'ADDED', object: o }));
          expect(items).toEqual(all.filter((e) => shardOf(valueOf(e, field), count) === i));
          // Paged with a limit: the same items.
          const paged: Event[] = [];
          let token: string | undefined;
          do {
            const page = await cacher.list({ limit: 3, shardSelector, ...scope, ...(token === undefined ? { resourceVersion: rv, resourceVersionMatch: 'Exact' as const } : { continue: token }) });
            paged.push(...page.items.map((o) => event({ type: 'ADDED', object: o })));
            token = page.continue;
          } while (token !== undefined);
          expect(paged).toEqual(items);
          union.push(...items);
        }
        expect(union.map(keyOf).sort()).toEqual(all.map(keyOf).sort());
        expect(new Set(union.map(keyOf)).size).toBe(union.length);
      }
    });

    it('a sharded watch-list (sendInitialEvents) starts with its shard of the LIST', async () => {
      const count = 2;
      const rv = String(await storage.currentRevision());
      const list = (await cacher.list({ resourceVersion: rv, resourceVersionMatch: 'Exact' })).items.map((o) => event({ type: 'ADDED', object: o }));
      for (let i = 0; i < count; i++) {
        const watch = await cacher.watch({ shardSelector: shardRangeText('uid', i, count), sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true, resourceVersion: rv });
        const expected = list.filter((e) => shardOf(e.uid, count) === i);
        const initial: Event[] = [];
        const iterator = watch[Symbol.asyncIterator]();
        for (;;) {
          const next = await iterator.next();
          if (next.done) throw new Error('watch ended');
          if (next.value.type === 'BOOKMARK') break;
          initial.push(event(next.value));
        }
        watch.stop();
        expect(initial.map(keyOf).sort()).toEqual(expected.map(keyOf).sort());
      }
    });

    it('a bad shardSelector is refused with 400 on LIST and WATCH', async () => {
      const bad = "shardRange(object.metadata.uid, '0x0', '0x8000000000000000')";
      await expect(cacher.list({ shardSelector: bad })).rejects.toMatchObject({ code: 'WC_ERR_BAD_REQUEST', message: expect.stringContaining('invalid shard selector: hexStart must be a 0x-prefixed 16-digit hex value') });
      await expect(cacher.watch({ shardSelector: bad })).rejects.toMatchObject({ code: 'WC_ERR_BAD_REQUEST' });
    });
  });
}

