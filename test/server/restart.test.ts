/**
 * After a restart the embedded store counts revisions from 1 again, so a client's resourceVersion
 * from before the restart is one the new store has not reached. The server never serves it as
 * if it were reached (kube-apiserver's "Too large resource version"): LIST and GET get 504; a
 * watch from it ends with an in-band ERROR instead of heartbeats and silently missed events,
 * 410 Expired so that every client relists (status.ts, watchStatusFromError, says why).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, createPod, openWatch, startTestServer, type TestServer } from './http-helpers.js';

const TOO_LARGE_DETAILS = {
  causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
  retryAfterSeconds: 1,
};

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
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
