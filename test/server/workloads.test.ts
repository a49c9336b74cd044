/**
 * apps/v1 and batch/v1 as built-in groups: served out of the box, stored where kube-apiserver
 * stores them (/registry/PLURAL/NS/NAME, without the group), with their status split.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, openWatch, podTemplate, startTestServer, workloadSpec, type TestServer } from './http-helpers.js';

/** The smallest spec of each kind that its schema (and kube) takes. */
const VALID_SPECS: Record<string, Record<string, unknown>> = {
  Deployment: workloadSpec('one'),
  ReplicaSet: workloadSpec('one'),
  StatefulSet: workloadSpec('one'),
  DaemonSet: workloadSpec('one'),
  Job: { template: { ...podTemplate('one'), spec: { ...podTemplate('one').spec, restartPolicy: 'Never' } } },
  CronJob: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { ...podTemplate('one'), spec: { ...podTemplate('one').spec, restartPolicy: 'Never' } } } } },
};

function deployment(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    ...extra,
  };
}

describe('apps/v1 and batch/v1', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0 });
  });
  afterAll(() => t.close());

  it.each([
    ['apps', 'deployments', 'Deployment'],
    ['apps', 'replicasets', 'ReplicaSet'],
    ['apps', 'statefulsets', 'StatefulSet'],
    ['apps', 'daemonsets', 'DaemonSet'],
    ['batch', 'jobs', 'Job'],
    ['batch', 'cronjobs', 'CronJob'],
  ])('%s %s are served and stored at /registry/%s/NS/NAME as kube-apiserver lays them out', async (group, plural, kind) => {
    const created = await call(t.url, `/apis/${group}/v1/namespaces/work/${plural}`, { method: 'POST', json: { apiVersion: `${group}/v1`, kind, metadata: { name: 'one' }, spec: VALID_SPECS[kind] } });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ apiVersion: `${group}/v1`, kind, metadata: { name: 'one', namespace: 'work' } });
    const { item } = await t.storage.get(`/registry/${plural}/work/one`);
    expect(item, `/registry/${plural}/work/one`).not.toBeNull();
    const list = await call(t.url, `/apis/${group}/v1/namespaces/work/${plural}`);
    expect(list.json).toMatchObject({ kind: `${kind}List`, apiVersion: `${group}/v1`, items: [{ metadata: { name: 'one' } }] });
    expect((await call(t.url, `/apis/${group}/v1/namespaces/work/${plural}/one`)).json.metadata.uid).toBe(created.json.metadata.uid);
  });

  it('a deployment create drops the status (kube resets it); an update keeps the stored status', async () => {
    const created = await call(t.url, '/apis/apps/v1/namespaces/st/deployments', { method: 'POST', json: deployment('web', { status: { replicas: 9 } }) });
    expect(created.status).toBe(201);
    expect(created.json.status).toBeUndefined();
    const status = await call(t.url, '/apis/apps/v1/namespaces/st/deployments/web/status', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { replicas: 1, readyReplicas: 1 } }),
    });
    expect(status.status, status.text).toBe(200);
    const put = await call(t.url, '/apis/apps/v1/namespaces/st/deployments/web', { method: 'PUT', json: { ...deployment('web'), status: { replicas: 42 } } });
    expect(put.status, put.text).toBe(200);
    expect(put.json.status).toEqual({ replicas: 1, readyReplicas: 1 });
  });

  it('field selectors take metadata.name and metadata.namespace on the apps kinds; spec fields are refused', async () => {
    await call(t.url, '/apis/apps/v1/namespaces/fs/deployments', { method: 'POST', json: deployment('a') });
    await call(t.url, '/apis/apps/v1/namespaces/fs/deployments', { method: 'POST', json: deployment('b') });
    const r = await call(t.url, '/apis/apps/v1/namespaces/fs/deployments?fieldSelector=metadata.name%3Db');
    expect(r.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['b']);
    const bad = await call(t.url, '/apis/apps/v1/deployments?fieldSelector=spec.replicas%3D1');
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('field label not supported: spec.replicas');
  });

  it('replica sets select on status.replicas and jobs on status.successful (status.succeeded), "0" when unset, as kube', async () => {
    const names = (r: { json: { items: { metadata: { name: string } }[] } }): string[] => r.json.items.map((i) => i.metadata.name).sort();
    for (const [name, replicas] of [['none', undefined], ['two', 2]] as const) {
      await call(t.url, '/apis/apps/v1/namespaces/sel/replicasets', { method: 'POST', json: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name }, spec: VALID_SPECS.ReplicaSet } });
      if (replicas !== undefined) {
        await call(t.url, `/apis/apps/v1/namespaces/sel/replicasets/${name}/status`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ status: { replicas } }) });
      }
    }
    expect(names(await call(t.url, '/apis/apps/v1/namespaces/sel/replicasets?fieldSelector=status.replicas%3D0'))).toEqual(['none']);
    expect(names(await call(t.url, '/apis/apps/v1/namespaces/sel/replicasets?fieldSelector=status.replicas%3D2'))).toEqual(['two']);

    await call(t.url, '/apis/batch/v1/namespaces/sel/jobs', { method: 'POST', json: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'fresh' }, spec: VALID_SPECS.Job } });
    await call(t.url, '/apis/batch/v1/namespaces/sel/jobs', { method: 'POST', json: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'done' }, spec: VALID_SPECS.Job } });
    const watch = await openWatch(t.url, '/apis/batch/v1/namespaces/sel/jobs?watch=true&fieldSelector=status.successful%3D1');
    try {
      const patched = await call(t.url, '/apis/batch/v1/namespaces/sel/jobs/done/status', {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ status: { succeeded: 1 } }),
      });
      expect(patched.status).toBe(200);
      // The job starts matching: the watch sees it ADDED, as kube-apiserver sends it.
      await watch.until('job "done" ADDED', (w) => w.summary().includes('ADDED done'));
    } finally {
      watch.close();
    }
    expect(names(await call(t.url, '/apis/batch/v1/namespaces/sel/jobs?fieldSelector=status.successful%3D0'))).toEqual(['fresh']);
    expect(names(await call(t.url, '/apis/batch/v1/namespaces/sel/jobs?fieldSelector=status.successful%3D1'))).toEqual(['done']);
    expect((await call(t.url, '/apis/batch/v1/jobs?fieldSelector=status.succeeded%3D1')).status).toBe(400);
  });
});
