/**
 * The client matrix (docs/server.md, "Clients"): each client runs one fixed script against a
 * server on the embedded store and on real etcd, and the test checks what the client saw.
 *
 * - the Kubernetes Python client (Debian's python3-kubernetes, run by Debian's /usr/bin/python3):
 *   test/compat/clients/python_client.py;
 * - Ruby kubeclient (Debian's ruby-kubeclient): test/compat/clients/kubeclient.rb;
 * - @kubernetes/client-node 1.4 (2.x needs Node 22; this project supports Node 20);
 * - curl for protobuf and Table requests.
 *
 * kubectl 1.27 … 1.33 has its own file, kubectl-matrix.test.ts. A missing client fails with how
 * to install it (`.ci/run` and the README's set-up install them).
 */
import { CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeObject } from '../../src/encode/protobuf/envelope.js';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { bounded, call } from '../server/http-helpers.js';
import { STORES, requireExecutable, runChild, type MatrixServer } from './clients/harness.js';

const SCRIPTS = fileURLToPath(new URL('./clients/', import.meta.url));
const DEBIAN_CLIENTS = 'apt-get install -y python3-kubernetes ruby-kubeclient curl (see the README)';

/** Runs a client script that prints one JSON object of results. */
async function script(interpreter: string, file: string, url: string, namespace: string): Promise<Record<string, any>> {
  const r = await runChild(requireExecutable(interpreter, DEBIAN_CLIENTS), [SCRIPTS + file, url, namespace], { PATH: process.env['PATH'] ?? '' });
  expect(r.code, `${file}: ${r.stderr}`).toBe(0);
  const results = JSON.parse(r.stdout) as Record<string, any>;
  console.log(`${results['client']}: ${file}`);
  return results;
}

function kubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'watchcache', server: url, skipTLSVerify: true }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'watchcache', cluster: 'watchcache', user: 'anonymous' }],
    currentContext: 'watchcache',
  });
  return kc;
}

async function curl(...args: string[]): Promise<{ status: number; contentType: string; body: Buffer }> {
  const bin = requireExecutable('/usr/bin/curl', DEBIAN_CLIENTS);
  // The body goes to a file: it is bytes (protobuf), which a text pipe would not keep.
  const dir = mkdtempSync(join(tmpdir(), 'wc-curl-'));
  try {
    const out = join(dir, 'body');
    const r = await runChild(bin, ['-sS', '-o', out, '-w', '%{http_code} %{content_type}', ...args]);
    expect(r.code, r.stderr).toBe(0);
    const [status, contentType] = r.stdout.split(' ');
    return { status: Number(status), contentType: contentType ?? '', body: readFileSync(out) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const store of STORES) {
  describe(`clients against ${store.name}`, () => {
    let t: MatrixServer;
    beforeAll(async () => {
      t = await store.start([...BUILTIN_RESOURCES, defineResource({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true })]);
    });
    afterAll(async () => t?.close());

    it('Python client: create, list by label and field selector and in pages, watch from an RV and resume, 410 then relist, patch, delete, a dict patch of a container list merges by name, a pod without containers is 422 and its watcher reads on', async () => {
      const r = await script('/usr/bin/python3', 'python_client.py', t.url, 'python');
      expect(r['create'].map((p: { name: string }) => p.name)).toEqual(['py-0', 'py-1', 'py-2', 'py-3', 'py-4']);
      const rvs = r['create'].map((p: { resourceVersion: string }) => Number(p.resourceVersion));
      expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
      expect(r['listLabelSelector']).toEqual(['py-0', 'py-2', 'py-4']);
      expect(r['listFieldSelector']).toEqual(['py-1', 'py-3']);
      expect(r['listPages']).toEqual([['py-0', 'py-1'], ['py-2', 'py-3'], ['py-4']]);
      expect(r['watchFromBefore']).toEqual(r['create'].map((p: { name: string; resourceVersion: string }) => ({ type: 'ADDED', name: p.name, resourceVersion: p.resourceVersion })));
      expect(r['patch'].labels).toEqual({ app: 'py', tier: 'even', patched: 'yes' });
      expect(r['watchResume']).toEqual({ type: 'MODIFIED', name: 'py-0', labels: { app: 'py', tier: 'even', patched: 'yes' } });
      expect(r['watchTooOld']).toMatchObject({ status: 410 });
      expect(r['relistAfterGone']).toEqual({ listed: 5, type: 'DELETED', name: 'py-4' });
      expect(r['delete']).toEqual({ deleted: 'py-1', readAfter: 404 });
      expect(r['patchContainers']).toEqual([
        ['app', 'nginx:2'],
        ['side', 'busybox:1'],
      ]);
      expect(r['podWithoutContainers']).toEqual({
        refused: { status: 422, reason: 'Invalid', causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }] },
        watched: [['ADDED', 'py-after']],
      });
    });

    it('Ruby kubeclient: create, get one and by label, list, watch from an RV, watch a delete', async () => {
      const r = await script('/usr/bin/ruby', 'kubeclient.rb', t.url, 'ruby');
      expect(r['create']).toHaveLength(3);
      expect(r['get']).toEqual({ name: 'rb-0', kind: 'Pod', labels: { app: 'rb', role: 'member' } });
      expect(r['getLabelSelector']).toEqual(['rb-1']);
      expect(r['getList'].names).toEqual(['rb-0', 'rb-1', 'rb-2']);
      expect(Number(r['getList'].resourceVersion)).toBeGreaterThanOrEqual(Number(r['create'][2]));
      expect(r['watch']).toEqual(['rb-0', 'rb-1', 'rb-2'].map((name, i) => ({ type: 'ADDED', name, resourceVersion: r['create'][i] })));
      expect(r['watchLive']).toEqual({ type: 'DELETED', name: 'rb-2' });
    });

    it('client-node 1.4: create, list by selector in pages, merge patch, watch from an RV, 410 on a too-old RV, delete', async () => {
      const kc = kubeConfig(t.url);
      const api = kc.makeApiClient(CoreV1Api);
      const namespace = 'node';
      const before = (await api.listNamespacedPod({ namespace })).metadata!.resourceVersion!;
      const created: V1Pod[] = [];
      for (const name of ['n-0', 'n-1', 'n-2']) {
        created.push(await api.createNamespacedPod({ namespace, body: { metadata: { name, labels: { app: 'node' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } }));
      }
      const page1 = await api.listNamespacedPod({ namespace, labelSelector: 'app=node', limit: 2 });
      const page2 = await api.listNamespacedPod({ namespace, labelSelector: 'app=node', limit: 2, _continue: page1.metadata!._continue! });
      expect([page1.items, page2.items].map((items) => items.map((p) => p.metadata?.name))).toEqual([['n-0', 'n-1'], ['n-2']]);
      const patched = await api.patchNamespacedPod(
        { namespace, name: 'n-0', body: { metadata: { labels: { patched: 'yes' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(patched.metadata?.labels).toEqual({ app: 'node', patched: 'yes' });
      await api.deleteNamespacedPod({ namespace, name: 'n-1' });

      const events: string[] = [];
      let finish!: (err: unknown) => void;
      const done = new Promise<unknown>((resolve) => (finish = resolve));
      // Events may arrive before watch() resolves with its controller: abort from whichever is last.
      let controller: AbortController | undefined;
      const stop = (): void => {
        if (events.length >= 5) controller?.abort();
      };
      controller = await new Watch(kc).watch(`/api/v1/namespaces/${namespace}/pods`, { resourceVersion: before }, (type, object: V1Pod) => {
        events.push(`${type} ${object.metadata?.name}`);
        stop();
      }, finish);
      stop();
      await bounded('the watch to replay five events', done, 15_000);
      expect(events).toEqual(['ADDED n-0', 'ADDED n-1', 'ADDED n-2', 'MODIFIED n-0', 'DELETED n-1']);

      const gone: Array<{ type: string; code: unknown }> = [];
      let goneDone!: (err: unknown) => void;
      const goneFinished = new Promise<unknown>((resolve) => (goneDone = resolve));
      await new Watch(kc)
        .watch(`/api/v1/namespaces/${namespace}/pods`, { resourceVersion: '1' }, (type, object: { code?: number }) => gone.push({ type, code: object.code }), goneDone)
        .catch((err: unknown) => goneDone(err));
      const ended = await bounded('the too-old watch to end', goneFinished, 15_000);
      // A 410 arrives either as the response status (an error for done) or in-band as an ERROR event.
      const inBand = gone.find((e) => e.type === 'ERROR');
      expect(inBand?.code ?? (ended as { statusCode?: number; code?: number } | null)?.statusCode ?? (ended as { code?: number } | null)?.code).toBe(410);
    });

    it('curl: GET a pod as protobuf gets the k8s protobuf envelope of the Pod', async () => {
      const made = await call(t.url, '/api/v1/namespaces/curl/pods', { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pb', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } });
      expect(made.status, made.text).toBe(201);
      const r = await curl('-H', 'Accept: application/vnd.kubernetes.protobuf', `${t.url}/api/v1/namespaces/curl/pods/pb`);
      expect(r.status, r.body.toString()).toBe(200);
      expect(r.contentType).toBe('application/vnd.kubernetes.protobuf');
      expect([...r.body.subarray(0, 4)]).toEqual([0x6b, 0x38, 0x73, 0x00]);
      const pod = decodeObject(r.body) as { kind: string; metadata: { name: string; labels: unknown; resourceVersion: string } };
      expect(pod).toMatchObject({ kind: 'Pod', metadata: { name: 'pb', labels: { a: 'b' }, resourceVersion: made.json.metadata.resourceVersion } });
    });

    it('curl: a custom resource asked for as protobuf with a JSON fallback comes as JSON (custom resources have no protobuf)', async () => {
      const made = await call(t.url, '/apis/example.com/v1/namespaces/curl/widgets', { method: 'POST', json: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } } });
      expect(made.status, made.text).toBe(201);
      const r = await curl('-H', 'Accept: application/vnd.kubernetes.protobuf, application/json', `${t.url}/apis/example.com/v1/namespaces/curl/widgets/w`);
      expect(r.status, r.body.toString()).toBe(200);
      expect(r.contentType).toBe('application/json');
      expect(JSON.parse(r.body.toString())).toMatchObject({ kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } });
    });

    it('curl: a list and a single object as a Table (application/json;as=Table;v=v1;g=meta.k8s.io)', async () => {
      const made = await call(t.url, '/api/v1/namespaces/curl-table/pods', { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tab' }, spec: { nodeName: 'node-3', containers: [{ name: 'c', image: 'nginx' }] } } });
      expect(made.status, made.text).toBe(201);
      const accept = 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io';
      const list = await curl('-H', accept, `${t.url}/api/v1/namespaces/curl-table/pods`);
      expect(list.status).toBe(200);
      const table = JSON.parse(list.body.toString());
      expect(table).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
      expect(table.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
      expect(table.rows.map((row: { cells: unknown[] }) => row.cells[0])).toEqual(['tab']);
      expect(table.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'tab' } });
      const one = JSON.parse((await curl('-H', accept, `${t.url}/api/v1/namespaces/curl-table/pods/tab?includeObject=None`)).body.toString());
      expect(one.rows).toHaveLength(1);
      expect(one.rows[0].cells[6]).toBe('node-3');
      // includeObject=None: no object (kube-apiserver writes the empty RawExtension as null).
      expect(one.rows[0].object ?? null).toBeNull();
    });
  });
}
