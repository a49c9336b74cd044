/**
 * A horizontally scaled controller as KEP-5866 means it: R replicas, each a client-node
 * makeInformer on its own shardSelector range of the uid hash space (client-node 1.4.0 knows no
 * shardSelector, so the watch path carries it in its query string and the list function sends
 * it). Under churn, every replica's cache and handler state converge to exactly its shard of the
 * server's LIST, and together the replicas hold the whole LIST once.
 */
import { CoreV1Api, makeInformer, type KubeConfig, type Informer, type KubernetesListObject, type ObjectCache, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardRangeText } from '../../src/select/shard-selector.js';
import { churn, kubeConfig } from '../helpers/client-node.js';
import { call, startTestServer, type TestServer } from '../server/http-helpers.js';
import { shardOf } from '../helpers/shards.js';

const key = (p: V1Pod): string => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;

type State = Map<string, string>;
const stateOf = (pods: Iterable<V1Pod>): State => new Map([...pods].map((p) => [key(p), p.metadata?.resourceVersion ?? '']));
const sameState = (a: State, b: State): boolean => a.size === b.size && [...a].every(([k, rv]) => b.get(k) === rv);

/** One replica: an informer on shard `index` of `count`, and what its handlers were told. */
class Replica {
  readonly informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  readonly handled: State = new Map();
  /** Objects handed to the handlers that belong to another shard. */
  readonly foreign: string[] = [];
  readonly errors: unknown[] = [];
  lists = 0;
  #stopped = false;

  constructor(url: string, kc: KubeConfig, index: number, count: number) {
    const selector = shardRangeText('uid', index, count);
    const query = `shardSelector=${encodeURIComponent(selector)}`;
    this.informer = makeInformer(kc, `/api/v1/pods?${query}`, async () => {
      this.lists++;
      const reply = await call(url, `/api/v1/pods?${query}`);
      if (reply.status !== 200) throw new Error(`sharded LIST: ${reply.status} ${reply.text}`);
      // The server says the list is one shard (KEP-5866 clients check this before trusting it).
      if (reply.json.metadata?.shardInfo?.selector !== selector) throw new Error(`no shardInfo echo: ${JSON.stringify(reply.json.metadata)}`);
      return reply.json as KubernetesListObject<V1Pod>;
    });
    const own = (p: V1Pod): void => {
      if (shardOf(p.metadata?.uid ?? '', count) !== index) this.foreign.push(key(p));
    };
    this.informer.on('add', (p) => (own(p), this.handled.set(key(p), p.metadata?.resourceVersion ?? '')));
    this.informer.on('update', (p) => (own(p), this.handled.set(key(p), p.metadata?.resourceVersion ?? '')));
    this.informer.on('delete', (p) => (own(p), this.handled.delete(key(p))));
    this.informer.on('error', (err) => {
      if (!this.#stopped) this.errors.push(err);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.informer.stop();
  }
}

describe('client-node informers, one per shard (KEP-5866 sharded controllers)', () => {
  let t: TestServer;
  let kc: KubeConfig;
  let api: CoreV1Api;
  beforeAll(async () => {
    t = await startTestServer({ workers: 2 });
    kc = kubeConfig(t.url);
    api = kc.makeApiClient(CoreV1Api);
  });
  afterAll(() => t?.close());

  it('3 replicas each converge to their shard of the LIST; together they hold it once', async () => {
    const count = 3;
    await churn(api, 'before', 40, 7);
    const replicas = Array.from({ length: count }, (_, i) => new Replica(t.url, kc, i, count));
    try {
      const writers = [churn(api, 'a', 100, 1), churn(api, 'b', 100, 2)];
      await Promise.all(replicas.map((r) => r.informer.start()));
      await Promise.all(writers);

      const deadline = Date.now() + 20_000;
      let server: V1Pod[] = [];
      for (;;) {
        server = (await call(t.url, '/api/v1/pods')).json.items as V1Pod[];
        const converged = replicas.every((r, i) => {
          const mine = stateOf(server.filter((p) => shardOf(p.metadata!.uid!, count) === i));
          return sameState(stateOf(r.informer.list()), mine) && sameState(r.handled, mine);
        });
        if (converged) break;
        if (Date.now() > deadline) {
          throw new Error(`replicas did not converge: sizes ${replicas.map((r) => r.informer.list().length).join(',')} of ${server.length}; errors ${replicas.flatMap((r) => r.errors).map(String).join('; ')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(server.length).toBeGreaterThan(count * 3);
      for (const r of replicas) {
        expect(r.foreign).toEqual([]);
        expect(r.errors).toEqual([]);
        expect(r.informer.list().length).toBeGreaterThan(0);
      }
      const union = replicas.flatMap((r) => r.informer.list().map(key)).sort();
      expect(union).toEqual(server.map(key).sort());
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });
});
