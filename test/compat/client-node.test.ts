/**
 * @kubernetes/client-node (1.4.0, the last line that loads on Node 20) against the server, used
 * as its users use it: a KubeConfig pointing at the server, CoreV1Api, Watch and makeInformer.
 * Nothing in the client is patched or mocked; the server is a real HTTP listener.
 *
 * What client-node's informer does (kubernetes-client/javascript src/cache.ts, ListWatch): list,
 * then watch from the list's RV; on a 410 (status or in-band ERROR) it relists; on a clean end it
 * re-watches from its last RV; on any other error it emits `error` and stops, and the application
 * restarts it (as client-node's own informer example does). The tests check that the informer's
 * cache converges to the server's LIST through churn, a relist forced by a 410, and a server
 * restart on etcd.
 */
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  ListWatch,
  Watch,
  makeInformer,
  type Informer,
  type ObjectCache,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type WatchcacheServer } from '../../src/server/server.js';
import { EtcdStorage } from '../../src/storage/etcd.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { BreakableStorage } from '../cache/cacher-conformance.js';
import { startEtcd } from '../helpers/etcd.js';
import { pod } from '../helpers/pods.js';
import { bounded, call, eventually, startTestServer, type TestServer } from '../server/http-helpers.js';
import { churn, kubeConfig } from '../helpers/client-node.js';

const key = (p: V1Pod): string => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;

/** namespace/name → resourceVersion. */
type State = Map<string, string>;

function stateOf(pods: Iterable<V1Pod>): State {
  const state: State = new Map();
  for (const p of pods) state.set(key(p), p.metadata?.resourceVersion ?? '');
  return state;
}

function difference(a: State, b: State): string[] {
  const out: string[] = [];
  for (const [k, rv] of a) if (b.get(k) !== rv) out.push(`${k}: ${rv} vs ${b.get(k) ?? 'absent'}`);
  for (const [k, rv] of b) if (!a.has(k)) out.push(`${k}: absent vs ${rv}`);
  return out;
}

/**
 * A pods informer across all namespaces, with what an application would see: the cache, the
 * state its add/update/delete handlers build, and how often it listed, connected and failed.
 */
class InformerProbe {
  readonly informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  /** What the add/update/delete handlers were told, applied in order. */
  readonly handled: State = new Map();
  lists = 0;
  connects = 0;
  readonly errors: unknown[] = [];
  #stopped = false;
  #restart: NodeJS.Timeout | undefined;

  /** `restartAfterMs`: on `error`, start again after this long (client-node's example); unset: stay stopped. */
  constructor(kc: KubeConfig, restartAfterMs?: number) {
    const api = kc.makeApiClient(CoreV1Api);
    this.informer = makeInformer(kc, '/api/v1/pods', () => {
      this.lists++;
      return api.listPodForAllNamespaces();
    });
    this.informer.on('add', (p) => this.handled.set(key(p), p.metadata?.resourceVersion ?? ''));
    this.informer.on('update', (p) => this.handled.set(key(p), p.metadata?.resourceVersion ?? ''));
    this.informer.on('delete', (p) => this.handled.delete(key(p)));
    this.informer.on('connect', () => this.connects++);
    this.informer.on('error', (err) => {
      // Stopping aborts the running watch, which client-node reports as an error too.
      if (this.#stopped) return;
      this.errors.push(err);
      if (restartAfterMs !== undefined) {
        this.#restart = setTimeout(() => {
          if (!this.#stopped) void this.informer.start();
        }, restartAfterMs);
      }
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restart);
    await this.informer.stop();
  }

  /** The RV the informer would resume from. */
  get resourceVersion(): string {
    return (this.informer as unknown as ListWatch<V1Pod>).latestResourceVersion();
  }

  cache(): State {
    return stateOf(this.informer.list());
  }

  /**
   * Waits until the informer's cache and its handlers' state both equal the server's LIST
   * (consistent, from `url`), and returns that state.
   */
  async converge(url: string, what: string, timeoutMs = 15_000): Promise<State> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await call(url, '/api/v1/pods');
      const server = list.status === 200 ? stateOf(list.json.items as V1Pod[]) : undefined;
      const cacheDiff = server === undefined ? ['server LIST failed'] : difference(this.cache(), server);
      const handledDiff = server === undefined ? [] : difference(this.handled, server);
      if (server !== undefined && cacheDiff.length === 0 && handledDiff.length === 0) return server;
      if (Date.now() > deadline) {
        throw new Error(
          `the informer did not converge (${what}) within ${timeoutMs} ms: cache vs server ${JSON.stringify(cacheDiff)}, ` +
            `handlers vs server ${JSON.stringify(handledDiff)}, lists=${this.lists}, connects=${this.connects}, errors=${this.errors.map(String).join('; ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('@kubernetes/client-node 1.4.0 against the server', () => {
  let t: TestServer;
  let kc: KubeConfig;
  let api: CoreV1Api;
  beforeAll(async () => {
    t = await startTestServer();
    kc = kubeConfig(t.url);
    api = kc.makeApiClient(CoreV1Api);
  });
  afterAll(() => t?.close());

  it('CoreV1Api: create, list, read, replace (a stale resourceVersion is a 409 ApiException), delete', async () => {
    const namespace = 'crud';
    const created = await api.createNamespacedPod({ namespace, body: { metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.spec?.containers[0]?.image).toBe('nginx');
    const createdRV = Number(created.metadata?.resourceVersion);
    expect(createdRV).toBeGreaterThan(0);

    const list = await api.listNamespacedPod({ namespace });
    expect(list.kind).toBe('PodList');
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(createdRV);
    expect(list.items.map((p) => [p.metadata?.name, p.metadata?.resourceVersion])).toEqual([['web', String(createdRV)]]);
    expect((await api.listPodForAllNamespaces()).items.map(key)).toContain('crud/web');

    const read = await api.readNamespacedPod({ namespace, name: 'web' });
    expect(read.metadata?.resourceVersion).toBe(String(createdRV));

    const replaced = await api.replaceNamespacedPod({ namespace, name: 'web', body: { ...read, metadata: { ...read.metadata, labels: { app: 'web', v: '2' } } } });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(createdRV);
    expect(replaced.metadata?.labels).toEqual({ app: 'web', v: '2' });
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);

    const stale = await api.replaceNamespacedPod({ namespace, name: 'web', body: read }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(stale).toBeInstanceOf(ApiException);
    expect((stale as ApiException<string>).code).toBe(409);
    expect(JSON.parse((stale as ApiException<string>).body)).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });

    const again = await api.createNamespacedPod({ namespace, body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } }).catch((err: unknown) => err);
    expect((again as ApiException<string>).code).toBe(409);
    expect(JSON.parse((again as ApiException<string>).body)).toMatchObject({ reason: 'AlreadyExists' });

    const deleted = await api.deleteNamespacedPod({ namespace, name: 'web' });
    expect(deleted.metadata?.name).toBe('web');
    expect(Number(deleted.metadata?.resourceVersion)).toBeGreaterThan(Number(replaced.metadata?.resourceVersion));
    const gone = await api.readNamespacedPod({ namespace, name: 'web' }).catch((err: unknown) => err);
    expect(gone).toBeInstanceOf(ApiException);
    expect((gone as ApiException<string>).code).toBe(404);
    expect((await api.listNamespacedPod({ namespace })).items).toEqual([]);
  });

  it('Watch: ADDED, MODIFIED and DELETED with their RVs, BOOKMARKs with allowWatchBookmarks, and done(null) at timeoutSeconds', async () => {
    const namespace = 'watched';
    const from = (await api.listNamespacedPod({ namespace })).metadata!.resourceVersion!;
    const events: Array<{ type: string; name: string | undefined; rv: number; kind: string | undefined }> = [];
    let finish!: (err: unknown) => void;
    const done = new Promise<unknown>((resolve) => (finish = resolve));
    await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { resourceVersion: from, allowWatchBookmarks: true, timeoutSeconds: 3 },
      (type, object: V1Pod) => events.push({ type, name: object.metadata?.name, rv: Number(object.metadata?.resourceVersion), kind: object.kind }),
      finish,
    );
    const created = await api.createNamespacedPod({ namespace, body: { metadata: { name: 'w' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } });
    const replaced = await api.replaceNamespacedPod({ namespace, name: 'w', body: { ...created, metadata: { ...created.metadata, labels: { x: 'y' } } } });
    const deleted = await api.deleteNamespacedPod({ namespace, name: 'w' });

    expect(await bounded('the watch to end at its timeoutSeconds', done, 15_000)).toBeNull();
    expect(events.filter((e) => e.type !== 'BOOKMARK')).toEqual([
      { type: 'ADDED', name: 'w', rv: Number(created.metadata?.resourceVersion), kind: 'Pod' },
      { type: 'MODIFIED', name: 'w', rv: Number(replaced.metadata?.resourceVersion), kind: 'Pod' },
      { type: 'DELETED', name: 'w', rv: Number(deleted.metadata?.resourceVersion), kind: 'Pod' },
    ]);
    const bookmarks = events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length, JSON.stringify(events)).toBeGreaterThanOrEqual(1);
    for (const b of bookmarks) expect(b.kind).toBe('Pod');
    // Never back in time: each event's RV is at least the one before it.
    for (let i = 1; i < events.length; i++) expect(events[i]!.rv).toBeGreaterThanOrEqual(events[i - 1]!.rv);
  });

  it('Watch: sendInitialEvents gives the current state as ADDED, then the BOOKMARK annotated k8s.io/initial-events-end', async () => {
    const namespace = 'initial';
    for (const name of ['a', 'b']) await api.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } });
    const events: Array<{ type: string; object: V1Pod }> = [];
    let finish!: (err: unknown) => void;
    const done = new Promise<unknown>((resolve) => (finish = resolve));
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true },
      (type, object: V1Pod) => events.push({ type, object }),
      finish,
    );
    await eventually('the initial events and their end bookmark', () => events.length >= 3);
    controller.abort();
    await bounded('done after abort', done, 5_000);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`)).toEqual(['ADDED a', 'ADDED b', 'BOOKMARK ']);
    expect(events[2]!.object.metadata?.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    expect(Number(events[2]!.object.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(events[1]!.object.metadata?.resourceVersion));
  });

  it('makeInformer on pods (all namespaces) converges to the server state under churn', async () => {
    const probe = new InformerProbe(kc);
    try {
      // The informer starts while the writers are already at work, and keeps up with them.
      const writers = [churn(api, 'churn-a', 120, 1), churn(api, 'churn-b', 120, 2)];
      await probe.start();
      const [a, b] = await Promise.all(writers);
      const server = await probe.converge(t.url, 'after the churn');
      expect([...server.keys()].filter((k) => k.startsWith('churn-')).sort()).toEqual([...a!, ...b!].sort());
      expect(probe.errors).toEqual([]);
      expect(probe.lists).toBe(1);
    } finally {
      await probe.stop();
    }
  });
});

describe('client-node informer across a forced 410', () => {
  it('the cache relists under a running informer: its re-watch gets 410, it relists and converges again', async () => {
    const inner = new MemoryStorage();
    const storage = new BreakableStorage(inner);
    const server = await startServer({ storage, port: 0, workers: 0, cacher: { backoff: { initialMs: 20, maxMs: 50 } } });
    const kc = kubeConfig(server.url);
    const api = kc.makeApiClient(CoreV1Api);
    const probe = new InformerProbe(kc);
    try {
      await churn(api, 'before', 30, 3);
      await probe.start();
      await probe.converge(server.url, 'before the relist');
      const lists = probe.lists;
      const connects = probe.connects;
      const relists = server.caches.find((c) => c.resource.plural === 'pods')!.cacher.stats().reflector.lists;

      // Writes the cache does not see (its store watch is held, then broken): the cache relists at
      // a revision past the informer's last RV, so the informer's re-watch is out of the window.
      storage.pauseWatches();
      for (const name of ['hidden-1', 'hidden-2', 'hidden-3']) {
        await api.createNamespacedPod({ namespace: 'relist', body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } });
      }
      storage.breakWatches();
      storage.resumeWatches();

      const state = await probe.converge(server.url, 'after the relist');
      expect([...state.keys()].filter((k) => k.startsWith('relist/')).sort()).toEqual(['relist/hidden-1', 'relist/hidden-2', 'relist/hidden-3']);
      expect(server.caches.find((c) => c.resource.plural === 'pods')!.cacher.stats().reflector.lists).toBeGreaterThan(relists);
      // It listed again (only a 410 empties its RV), reconnecting twice: the refused re-watch, then the watch after the list.
      expect(probe.lists).toBeGreaterThan(lists);
      expect(probe.connects).toBeGreaterThanOrEqual(connects + 2);
      expect(probe.errors).toEqual([]);
    } finally {
      await probe.stop();
      await server.close();
      await inner.close();
    }
  });
});

describe('client-node informer across a server restart on etcd', () => {
  it('a new server on the same port and etcd: the informer resumes from its last RV or relists, and nothing is lost', async () => {
    const etcd = await startEtcd();
    const storages: EtcdStorage[] = [];
    const open = (): EtcdStorage => {
      const s = new EtcdStorage({ endpoints: etcd.endpoints });
      storages.push(s);
      return s;
    };
    let server: WatchcacheServer | undefined;
    let probe: InformerProbe | undefined;
    try {
      server = await startServer({ storage: open(), port: 0, workers: 0 });
      const port = server.port;
      const kc = kubeConfig(server.url);
      const api = kc.makeApiClient(CoreV1Api);
      // While the server is down the informer's watch fails to connect: client-node 1.4.0 then
      // emits `error` and stops, and the application starts it again.
      probe = new InformerProbe(kc, 100);
      await probe.start();
      await churn(api, 'first', 40, 4);
      await probe.converge(server.url, 'on the first server');
      const lastRV = probe.resourceVersion;
      expect(Number(lastRV)).toBeGreaterThan(0);

      await server.close();
      server = undefined;
      // Written while no server runs: only etcd has them.
      const direct = open();
      for (const name of ['offline-1', 'offline-2']) {
        await direct.create(`/registry/pods/offline/${name}`, Buffer.from(JSON.stringify(pod({ name, namespace: 'offline' }))));
      }
      const refused = probe.errors.length;
      await eventually('the informer to notice the server is gone', () => probe!.errors.length > refused);

      server = await startServer({ storage: open(), port, workers: 0 });
      await churn(api, 'second', 40, 5);
      const state = await probe.converge(server.url, 'on the second server');
      expect(state.has('offline/offline-1') && state.has('offline/offline-2'), JSON.stringify([...state.keys()])).toBe(true);
      // Every error was the server being away (refused connections, or 429 while the new caches listed).
      for (const err of probe.errors) expect(String((err as { code?: string }).code ?? (err as { statusCode?: number }).statusCode ?? err)).toMatch(/ECONNREFUSED|429/);
    } finally {
      await probe?.stop();
      await server?.close();
      await Promise.all(storages.map((s) => s.close()));
      await etcd.stop();
    }
  });
});

describe('client-node across an embedded-store restart', () => {
  it('an informer whose server restarts on a fresh embedded store relists and converges to the new store, missing nothing', async () => {
    let server: WatchcacheServer | undefined = await startServer({ storage: new MemoryStorage(), port: 0, workers: 0 });
    const store = new MemoryStorage();
    const port = server.port;
    const kc = kubeConfig(server.url);
    const api = kc.makeApiClient(CoreV1Api);
    const probe = new InformerProbe(kc, 100);
    try {
      await probe.start();
      await churn(api, 'first', 40, 7);
      await probe.converge(server.url, 'on the first server');
      const lastRV = Number(probe.resourceVersion);
      const listsBefore = probe.lists;

      await server.close();
      server = await startServer({ storage: store, port, workers: 0 });
      // Fewer writes than before: the new store stays below the informer's RV, which client-node
      // resumes from. Served as if reached, it would hide these pods until the counter passed it.
      const live = await churn(api, 'second', 5, 8);
      expect(await store.currentRevision()).toBeLessThan(lastRV);
      const state = await probe.converge(server.url, 'on the new store');
      expect(new Set(state.keys())).toEqual(live);
      expect(probe.lists).toBeGreaterThan(listsBefore);
    } finally {
      await probe.stop();
      await server?.close();
    }
  });

  it('a Watch resumed from a pre-restart RV the new store has not reached gets an in-band ERROR 410 "Too large resource version", then done', async () => {
    const first = await startTestServer({ workers: 0 });
    const api = kubeConfig(first.url).makeApiClient(CoreV1Api);
    let oldRV = 0;
    for (let i = 0; i < 6; i++) {
      const created = await api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: `before-${i}` }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } });
      oldRV = Number(created.metadata?.resourceVersion);
    }
    await first.close();
    // A new embedded store counts from 1 again: its revisions stay below the client's RV.
    const second = await startTestServer({ workers: 0 });
    try {
      const kc = kubeConfig(second.url);
      await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'after' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } });
      const current = await second.storage.currentRevision();
      const events: Array<{ type: string; object: { code?: number; reason?: string; message?: string } }> = [];
      const done = new Promise<unknown>((resolve) => {
        void new Watch(kc).watch('/api/v1/pods', { resourceVersion: String(oldRV), allowWatchBookmarks: true }, (type, object) => events.push({ type, object }), resolve);
      });
      expect(await bounded('the watch to end', done, 15_000)).toBeNull();
      expect(events).toEqual([
        {
          type: 'ERROR',
          object: expect.objectContaining({ code: 410, reason: 'Expired', message: `Too large resource version: ${oldRV}, current: ${current}` }),
        },
      ]);
    } finally {
      await second.close();
    }
  });
});
