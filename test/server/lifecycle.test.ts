/** What the server answers while its caches are still listing, and once they are ready. */
import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/server.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/storage.js';
import { call } from './http-helpers.js';

/** A store whose lists wait until `open()`: the caches stay pending until then. */
function gatedStorage(inner: MemoryStorage): { storage: Storage; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const storage: Storage = {
    get: (key, options) => inner.get(key, options),
    list: async (prefix, options) => {
      await gate;
      return inner.list(prefix, options);
    },
    create: (key, value) => inner.create(key, value),
    update: (key, value, options) => inner.update(key, value, options),
    delete: (key, options) => inner.delete(key, options),
    watch: (prefix, options) => inner.watch(prefix, options),
    currentRevision: () => inner.currentRevision(),
    requestProgress: () => inner.requestProgress(),
    progressTrusted: () => inner.progressTrusted(),
    compact: (revision) => inner.compact(revision),
    close: () => inner.close(),
  };
  return { storage, open };
}

describe('server life cycle', () => {
  it('before the caches are ready: /readyz 503 naming them, reads 429 with Retry-After; then ready', async () => {
    const inner = new MemoryStorage();
    const { storage, open } = gatedStorage(inner);
    const server = createServer({ storage, port: 0, workers: 0 });
    try {
      const url = await server.listen();
      expect((await call(url, '/healthz')).status).toBe(200);
      const readyz = await call(url, '/readyz');
      expect(readyz.status).toBe(503);
      expect(readyz.text).toMatch(/^caches not ready: pods, nodes, namespaces/);
      const list = await call(url, '/api/v1/namespaces/default/pods');
      expect(list.status).toBe(429);
      expect(list.json).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
      expect(list.headers.get('retry-after')).toMatch(/^\d+$/);
      const watch = await call(url, '/api/v1/pods?watch=true');
      expect(watch.status).toBe(429);
      open();
      await server.ready();
      expect((await call(url, '/readyz')).status).toBe(200);
      expect((await call(url, '/api/v1/namespaces/default/pods')).status).toBe(200);
    } finally {
      open();
      await server.close();
      await inner.close();
    }
  });

  it('after close: /readyz is gone with the listener, and close is idempotent', async () => {
    const storage = new MemoryStorage();
    const server = createServer({ storage, port: 0, workers: 0 });
    const url = await server.listen();
    await server.ready();
    await Promise.all([server.close(), server.close()]);
    await expect(fetch(`${url}/readyz`)).rejects.toThrow();
    await storage.close();
  });

  it('a port in use fails listen with the system error', async () => {
    const storage = new MemoryStorage();
    const first = createServer({ storage, port: 0, workers: 0 });
    const url = await first.listen();
    const second = createServer({ storage, port: Number(new URL(url).port), workers: 0 });
    try {
      await expect(second.listen()).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await second.close();
      await first.close();
      await storage.close();
    }
  });
});
