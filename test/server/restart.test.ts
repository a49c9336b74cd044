/**
 * After a restart the embedded store counts revisions from 1 again, so a client's resourceVersion
 * from before the restart is one the new store has not reached. The server never serves it as
 * if it were reached (kube-apiserver's "Too large resource version"): LIST and GET get 504; a
 * watch from it ends with an in-band ERROR instead of heartbeats and silently missed events,
 * 410 Expired so that every client relists (status.ts, watchStatusFromError, says why).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdStorage } from '../../src/storage/etcd.js';
import type { MemoryStorage } from '../../src/storage/memory.js';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { call, createPod, openWatch, startTestServer, type TestServer } from './http-helpers.js';

const TOO_LARGE_DETAILS = {
  causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
  retryAfterSeconds: 1,
};

const servers: TestServer[] = [];
const etcds: EtcdHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(etcds.splice(0).map((e) => e.stop()));
});

/** A server whose store has seen some writes, then a new one on a fresh store; the old server's last RV. */
async function restarted(): Promise<{ oldRV: number; server: TestServer }> {
  const first = await startTestServer();
  let oldRV = 0;
  for (let i = 0; i < 8; i++) oldRV = await createPod(first.url, `before-${i}`);
  await first.close();
  const server = await startTestServer();
  servers.push(server);
  return { oldRV, server };
}

describe('a resourceVersion from before an embedded-store restart', () => {
  it('a raw watch resumed from it gets an in-band ERROR 410 "Too large resource version" and ends, with no silent heartbeats', async () => {
    const { oldRV, server } = await restarted();
    const fresh = await createPod(server.url, 'after');
    expect(fresh).toBeLessThan(oldRV);
    const watch = await openWatch(server.url, `/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${oldRV}`);
    expect(watch.status).toBe(200);
    await watch.untilEnded(15_000);
    expect(watch.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `Too large resource version: ${oldRV}, current: ${fresh}`,
          reason: 'Expired',
          code: 410,
          details: TOO_LARGE_DETAILS,
        },
      },
    ]);
  });

  it('LIST not older than it and GET at it answer 504 "Too large resource version"; a consistent LIST shows the new store', async () => {
    const { oldRV, server } = await restarted();
    await createPod(server.url, 'after');
    const list = await call(server.url, `/api/v1/pods?resourceVersion=${oldRV}&resourceVersionMatch=NotOlderThan`);
    expect(list.status).toBe(504);
    expect(list.json).toMatchObject({ kind: 'Status', reason: 'Timeout', code: 504, details: TOO_LARGE_DETAILS });
    const get = await call(server.url, `/api/v1/namespaces/default/pods/after?resourceVersion=${oldRV}`);
    expect(get.status).toBe(504);
    expect(get.json).toMatchObject({ reason: 'Timeout', code: 504, details: TOO_LARGE_DETAILS });
    // What a client does next (client-go relists with RV unset): it sees the new store.
    const relist = await call(server.url, '/api/v1/pods');
    expect(relist.status).toBe(200);
    expect(relist.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['after']);
  });
});

/** etcd's own default --experimental-watch-progress-notify-interval (10 minutes): progress not trusted on 3.4.23. */
const ETCD_DEFAULT_PROGRESS_NOTIFY_MS = 10 * 60_000;

// On etcd a restarted server continues etcd's revisions, so the same guard matters when the RV
// comes from ahead of the etcd behind the server (a cluster restored from an older backup, or
// a client that talked to another cluster): LIST, GET and WATCH behave as on the embedded store.
describe.each([
  { flags: 'default flags (progress not trusted)', etcdMs: ETCD_DEFAULT_PROGRESS_NOTIFY_MS, configured: undefined },
  { flags: 'a configured progress-notify interval (trusted)', etcdMs: 200, configured: 200 },
])('a resourceVersion etcd has not reached, on etcd with $flags', ({ etcdMs, configured }) => {
  async function overEtcd(): Promise<TestServer> {
    const etcd = await startEtcd({ progressNotifyIntervalMs: etcdMs });
    etcds.push(etcd);
    const storage = new EtcdStorage({ endpoints: etcd.endpoints, ...(configured === undefined ? {} : { progressNotifyIntervalMs: configured }) });
    const server = await startTestServer({ workers: 0, storage: storage as unknown as MemoryStorage });
    servers.push(server);
    return server;
  }

  it('LIST and GET answer 504 "Too large resource version", a watch from it ends with an in-band ERROR 410', async () => {
    const server = await overEtcd();
    const current = await createPod(server.url, 'here');
    const ahead = current + 50;
    const watch = await openWatch(server.url, `/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${ahead}`);
    expect(watch.status).toBe(200);
    const [list, get] = await Promise.all([
      call(server.url, `/api/v1/pods?resourceVersion=${ahead}&resourceVersionMatch=NotOlderThan`),
      call(server.url, `/api/v1/namespaces/default/pods/here?resourceVersion=${ahead}`),
    ]);
    expect(list.status, list.text).toBe(504);
    expect(list.json).toMatchObject({ kind: 'Status', reason: 'Timeout', code: 504, details: TOO_LARGE_DETAILS });
    expect(list.json.message).toMatch(new RegExp(`^Too large resource version: ${ahead}, current: \\d+$`));
    expect(get.status, get.text).toBe(504);
    expect(get.json).toMatchObject({ kind: 'Status', reason: 'Timeout', code: 504, details: TOO_LARGE_DETAILS });
    await watch.untilEnded(15_000);
    expect(watch.events).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired', details: TOO_LARGE_DETAILS, message: expect.stringMatching(new RegExp(`^Too large resource version: ${ahead}, current: \\d+$`)) }),
      },
    ]);
    // The relist a client does next sees etcd.
    const relist = await call(server.url, '/api/v1/pods');
    expect(relist.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['here']);
  });
});
