/**
 * What the client matrix shares: the two stores each client runs against (the embedded one and
 * real etcd), and running a client program to completion with its output.
 *
 * Each server starts on a store that already has history (a few writes under a prefix no resource
 * watches), so its caches begin past revision 1 and a watch from resourceVersion 1 is too old: a
 * 410 Gone, the case every client must recover from.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { startServer, type WatchcacheServer } from '../../../src/server/server.js';
import { EtcdStorage } from '../../../src/storage/etcd.js';
import { MemoryStorage } from '../../../src/storage/memory.js';
import type { Storage } from '../../../src/storage/storage.js';
import { startEtcd } from '../../helpers/etcd.js';
export { runChild, startChild, type Child, type Run } from '../../helpers/child.js';
import type { ResourceDefinition } from '../../../src/server/registry.js';

export interface MatrixServer {
  url: string;
  server: WatchcacheServer;
  close(): Promise<void>;
}

export interface Store {
  name: 'the embedded store' | 'etcd';
  start(resources?: readonly ResourceDefinition[]): Promise<MatrixServer>;
}

async function withHistory(storage: Storage, resources: readonly ResourceDefinition[] | undefined, stop: () => Promise<void>): Promise<MatrixServer> {
  for (let i = 0; i < 5; i++) await storage.create(`/registry/compat-history/${i}`, new TextEncoder().encode('{}'));
  const server = await startServer({ port: 0, storage, ...(resources === undefined ? {} : { resources }) });
  return {
    url: server.url,
    server,
    async close() {
      await server.close();
      await storage.close();
      await stop();
    },
  };
}

export const STORES: readonly Store[] = [
  { name: 'the embedded store', start: (resources) => withHistory(new MemoryStorage(), resources, async () => {}) },
  {
    name: 'etcd',
    async start(resources) {
      const etcd = await startEtcd();
      return withHistory(new EtcdStorage({ endpoints: etcd.endpoints }), resources, () => etcd.stop());
    },
  },
];

/** The program at `path`, or an error saying how to install it (a missing client fails, never skips). */
export function requireExecutable(path: string, install: string): string {
  try {
    accessSync(path, fsConstants.X_OK);
    return path;
  } catch {
    throw new Error(`${path} not found: ${install}`);
  }
}
