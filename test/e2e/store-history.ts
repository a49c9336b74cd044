/**
 * The truth for the fault suite: the store's own history of the pods prefix, read from etcd with
 * the etcd3 client (not through watchcache's storage layer), from revision 1 of a fresh etcd.
 *
 * History is read in steps (`catchUp`) while etcd is healthy: a marker key outside the prefix is
 * written, and a watch from the first revision not read yet collects events until the marker's
 * revision. Compaction only ever drops history already read (`compact`). The previous state of
 * each change comes from replaying the history itself, so it does not depend on etcd's prev_kv
 * (which etcd leaves out when the revision before is compacted).
 */
import { Etcd3 } from 'etcd3';
import { StoreHistory, type JsonObject, type StoreEvent } from './history-checker.js';

const MARKER_KEY = '/e2e-history-marker';

/** etcd batches up to 1000 revisions in one watch response; with big objects that is far over gRPC's 4 MiB default. */
function client(endpoint: string): Etcd3 {
  return new Etcd3({ hosts: endpoint, grpcOptions: { 'grpc.max_receive_message_length': 1024 * 1024 * 1024 } });
}

export class EtcdHistory {
  readonly #endpoint: string;
  readonly #prefix: string;
  readonly #events: StoreEvent[] = [];
  readonly #current = new Map<string, JsonObject>();
  /** Every revision up to here has been read. */
  #through = 0;

  constructor(endpoint: string, prefix = '/registry/pods/') {
    this.#endpoint = endpoint;
    this.#prefix = prefix;
  }

  get through(): number {
    return this.#through;
  }

  history(): StoreHistory {
    return new StoreHistory(this.#events);
  }

  /** Reads every event up to the store's current revision; returns that revision. */
  async catchUp(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#readOnce();
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Reads history up to now, then compacts there: watchers behind it can no longer use etcd's. */
  async compact(): Promise<number> {
    const revision = await this.catchUp();
    const etcd = client(this.#endpoint);
    try {
      await etcd.kv.compact({ revision: String(revision), physical: true });
    } finally {
      etcd.close();
    }
    return revision;
  }

  async #readOnce(): Promise<number> {
    const etcd = client(this.#endpoint);
    try {
      const marker = await etcd.put(MARKER_KEY).value(String(Date.now())).exec();
      const target = Number(marker.header.revision);
      const collected: Array<{ rev: number; key: string; type: 'put' | 'delete'; value: Buffer }> = [];
      const watcher = await etcd.watch().prefix('/').startRevision(String(this.#through + 1)).create();
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`store history: no marker event within 30 s (reading from ${this.#through + 1} to ${target})`)), 30_000);
          watcher.on('disconnected', () => {
            clearTimeout(timer);
            reject(new Error('store history: the watch disconnected while reading'));
          });
          watcher.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
          watcher.on('data', (res) => {
            for (const event of res.events) {
              const rev = Number(event.kv.mod_revision);
              const key = event.kv.key.toString('utf8');
              if (key.startsWith(this.#prefix)) collected.push({ rev, key: key.slice(this.#prefix.length), type: event.type === 'Put' ? 'put' : 'delete', value: event.kv.value });
              if (rev >= target) {
                clearTimeout(timer);
                resolve();
              }
            }
          });
        });
      } finally {
        await watcher.cancel();
      }
      // Apply only once the read is whole, so a failed read leaves nothing half-applied.
      for (const c of collected) {
        if (c.rev > target) continue;
        const prev = this.#current.get(c.key) ?? null;
        if (c.type === 'put') {
          const object = JSON.parse(c.value.toString('utf8')) as JsonObject;
          this.#events.push({ rev: c.rev, key: c.key, type: 'put', object, prev });
          this.#current.set(c.key, object);
        } else {
          if (prev === null) throw new Error(`store history: delete of ${c.key} at ${c.rev}, which did not exist`);
          this.#events.push({ rev: c.rev, key: c.key, type: 'delete', object: null, prev });
          this.#current.delete(c.key);
        }
      }
      this.#through = target;
      return target;
    } finally {
      etcd.close();
    }
  }
}
